using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Recon.Core.Priority;
using Recon.Core.Queues;
using Recon.Core.RateLimiting;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Queues;

public sealed class ThrottleRegistrationTests
{
    [Fact]
    public async Task Registered_FromConfiguration_LimiterAndQueuesWorkAgainstTheStack()
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Recon:Redis:Configuration"] = TestStack.Redis,
            ["Recon:Storage:ConnectionString"] = TestStack.Storage,
            ["Recon:RateLimits:KeyPrefix"] = $"test:di:{id}",
            ["Recon:Priority:HighValueThresholdsMinor:USD"] = "500",
            ["Recon:Queues:HighQueue"] = $"d{id}-high",
            ["Recon:Queues:LowQueue"] = $"d{id}-low",
        }).Build();
        await using var provider = new ServiceCollection().AddReconRateLimiting(configuration).AddReconPriorityQueues(configuration).BuildServiceProvider();

        var limiter = provider.GetRequiredService<IProviderRateLimiter>();
        Assert.True((await limiter.TryAcquireAsync("stripe", "charges", null, 1, default)).Granted);

        var policy = provider.GetRequiredService<PriorityPolicy>();
        Assert.Equal(0, policy.PriorityFor(500, "USD"));
        var queues = provider.GetRequiredService<PriorityQueueClient>();
        await queues.CreateQueuesAsync();
        await queues.EnqueueAsync(BatchMessageCodecTests.Sample("h-di"), policy.PriorityFor(600, "USD"));
        var taken = Assert.Single(await queues.DequeueAsync(4, TimeSpan.FromSeconds(60)));
        Assert.True(taken.IsHigh);
        Assert.Equal($"d{id}-high", taken.QueueName);
        await taken.CompleteAsync();
    }
}
