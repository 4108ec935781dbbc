using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Recon.Core.Pipeline;
using Recon.Core.RateLimiting;

namespace Recon.Tests.Hosting;

/// <summary>Both hosts' registration picks Stripe's limits from the key it is given, unless the mode is set explicitly.</summary>
public sealed class StripeModeWiringTests
{
    [Theory]
    [InlineData("sk_test_abc", null, StripeApiMode.Test)]
    [InlineData("sk_live_abc", null, StripeApiMode.Live)]
    [InlineData("rk_live_abc", null, StripeApiMode.Live)]
    [InlineData("sk_test_abc", "Live", StripeApiMode.Live)]
    [InlineData(null, null, StripeApiMode.Live)]
    public void AddReconPipeline_StripeKey_PicksTheModeItsLimitsComeFrom(string? key, string? explicitMode, StripeApiMode expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Recon:Providers:Stripe:ApiKey"] = key,
            ["Recon:RateLimits:StripeMode"] = explicitMode,
        };
        var services = new ServiceCollection().AddReconPipeline(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        var options = (RateLimitOptions)services.Single(d => d.ServiceType == typeof(RateLimitOptions)).ImplementationInstance!;
        Assert.Equal(expected, options.StripeMode);
    }
}
