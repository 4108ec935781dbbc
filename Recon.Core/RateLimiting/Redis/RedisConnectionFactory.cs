using Azure.Core;
using StackExchange.Redis;
using StackExchange.Redis.Configuration;

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
    /// timeout. No network call: the start-up check calls this to refuse a malformed setting at once.
    /// </summary>
    public static ConfigurationOptions Options(string configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration))
        {
            throw new InvalidOperationException($"{ConfigurationKey} is empty; set it (env Recon__Redis__Configuration), e.g. 127.0.0.1:6379.");
        }
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"{ConfigurationKey} is not a StackExchange.Redis configuration string: {ex.Message}", ex);
        }
        if (options.EndPoints.Count == 0)
        {
            throw new InvalidOperationException($"{ConfigurationKey} names no endpoint (host:port).");
        }
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

    public static Task<ConnectionMultiplexer> ConnectAsync(string configuration) => ConnectAsync(configuration, null, "");

    /// <summary>Connects; with <paramref name="credential"/> the connection authenticates with Entra ID tokens as
    /// <paramref name="principalId"/> (Azure Managed Redis with access keys disabled), refreshed before they expire.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync(string configuration, TokenCredential? credential, string principalId)
    {
        var options = Options(configuration);
        EntraRedisAuth? entra = null;
        if (credential is not null)
        {
            entra = new EntraRedisAuth(credential, principalId);
            await entra.RefreshAsync(CancellationToken.None).ConfigureAwait(false);
            options.Defaults = entra;
        }
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        entra?.KeepFresh(multiplexer);
        return multiplexer;
    }
}

/// <summary>
/// Entra ID authentication for Redis: the user is the identity's principal id, the password a token, which the server
/// stops accepting when it expires (about an hour). Every (re)connection asks <see cref="Password"/> for the current token;
/// a background loop fetches a new one every <see cref="RefreshEvery"/> and re-sends AUTH on the open connection.
/// </summary>
/// <remarks>Written by hand because Microsoft.Azure.StackExchangeRedis, which does the same, is not served by the package
/// registry this project builds from; replace this class with it when it is.</remarks>
internal sealed class EntraRedisAuth(TokenCredential credential, string principalId) : DefaultOptionsProvider
{
    /// <summary>Tokens live about an hour; refreshing at half that leaves a failed refresh 30 minutes to succeed.</summary>
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(30);

    private volatile string _token = "";

    public override string? User => string.IsNullOrWhiteSpace(principalId)
        ? throw new InvalidOperationException("Recon:Identity:PrincipalId is empty; Redis Entra ID authentication names the identity by its principal (object) id.")
        : principalId;

    public override string? Password => _token;

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var token = await credential.GetTokenAsync(new TokenRequestContext([Hosting.EntraScopes.Redis]), cancellationToken).ConfigureAwait(false);
        _token = token.Token;
    }

    public void KeepFresh(IConnectionMultiplexer multiplexer)
        => _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(RefreshEvery);
            while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
            {
                try
                {
                    await RefreshAsync(CancellationToken.None).ConfigureAwait(false);
                    foreach (var server in multiplexer.GetServers().Where(s => s.IsConnected))
                    {
                        await server.ExecuteAsync("AUTH", User!, _token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is Azure.Identity.AuthenticationFailedException or RedisException or TimeoutException)
                {
                    // the next tick tries again; until the token expires the connection keeps working, and after that a
                    // failing acquire fails closed (no provider call without a token) and says so in the batch's error
                }
            }
        });
}
