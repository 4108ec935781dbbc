using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Recon.Core.Priority;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using StackExchange.Redis;

namespace Recon.Core.Queues;

/// <summary>Registers the token bucket, the priority policy and the priority queues for a host (Functions or worker).</summary>
public static class ThrottleServiceCollectionExtensions
{
    /// <summary>Storage connection string (Azurite locally).</summary>
    public const string StorageConnectionStringKey = "Recon:Storage:ConnectionString";

    /// <summary>
    /// <see cref="IProviderRateLimiter"/> over Redis (<c>Recon:Redis:Configuration</c>, <c>Recon:RateLimits</c>), with one
    /// shared <see cref="IConnectionMultiplexer"/> unless the host registered its own.
    /// </summary>
    public static IServiceCollection AddReconRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new RateLimitOptions();
        configuration.GetSection(RateLimitOptions.SectionName).Bind(options);
        services.AddSingleton(options);
        services.TryAddSingleton<IConnectionMultiplexer>(_ =>
            ConnectionMultiplexer.Connect(RedisConnectionFactory.Options(configuration[RedisConnectionFactory.ConfigurationKey] ?? "")));
        services.AddSingleton<IProviderRateLimiter>(sp => new RedisProviderRateLimiter(sp.GetRequiredService<IConnectionMultiplexer>(), options));
        return services;
    }

    /// <summary>
    /// <see cref="PriorityPolicy"/> (<c>Recon:Priority</c>) and one <see cref="PriorityQueueClient"/> (<c>Recon:Queues</c>,
    /// storage from <c>Recon:Storage:ConnectionString</c>). The client keeps the guaranteed share's credit, so a host
    /// with several dispatchers should give each its own instance.
    /// </summary>
    public static IServiceCollection AddReconPriorityQueues(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var priority = new PriorityOptions();
        configuration.GetSection(PriorityOptions.SectionName).Bind(priority);
        var queues = new PriorityQueueOptions();
        configuration.GetSection(PriorityQueueOptions.SectionName).Bind(queues);
        services.AddSingleton(new PriorityPolicy(priority));
        services.AddSingleton(queues);
        services.TryAddSingleton(_ => QueueClients.Create(configuration[StorageConnectionStringKey] is { Length: > 0 } storage
            ? storage
            : throw new InvalidOperationException($"{StorageConnectionStringKey} is empty; set it (env Recon__Storage__ConnectionString), e.g. UseDevelopmentStorage=true.")));
        services.AddSingleton(sp => new PriorityQueueClient(sp.GetRequiredService<QueueServiceClient>(), queues));
        return services;
    }
}
