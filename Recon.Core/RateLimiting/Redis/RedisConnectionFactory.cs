using StackExchange.Redis;

namespace Recon.Core.RateLimiting.Redis;

/// <summary>Builds the one <see cref="ConnectionMultiplexer"/> a process uses, set up to fail closed and heal by itself.</summary>
public static class RedisConnectionFactory
{
    /// <summary>Section of the StackExchange.Redis configuration string (<c>Recon:Redis:Configuration</c>).</summary>
    public const string ConfigurationKey = "Recon:Redis:Configuration";

    /// <summary>
    /// Parses <paramref name="configuration"/> and applies Recon's settings: keep retrying the connection instead of
    /// failing at startup (so a worker that starts before Redis comes up later works), and fail commands at once while
    /// disconnected rather than queueing them, so an acquire during an outage says so immediately instead of after a
    /// timeout.
    /// </summary>
    public static ConfigurationOptions Options(string configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration))
        {
            throw new InvalidOperationException($"{ConfigurationKey} is empty; set it (env Recon__Redis__Configuration), e.g. 127.0.0.1:6379.");
        }
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // 2 s: an acquire is a sub-millisecond script; anything slower is an outage, and the batch window is 30 s
        options.AsyncTimeout = 2_000;
        options.SyncTimeout = 2_000;
        options.ConnectTimeout = 2_000;
        // reconnect quickly after an outage: first retry after 0.5 s, at most every 2 s
        options.ReconnectRetryPolicy = new ExponentialRetry(500, 2_000);
        return options;
    }

    public static async Task<ConnectionMultiplexer> ConnectAsync(string configuration)
        => await ConnectionMultiplexer.ConnectAsync(Options(configuration)).ConfigureAwait(false);
}
