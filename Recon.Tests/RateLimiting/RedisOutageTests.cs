using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;

namespace Recon.Tests.RateLimiting;

/// <summary>
/// Stops and restarts a Redis of its own (never the shared one) under a live limiter: acquires fail closed with a
/// clear error while it is down and resume, on the same multiplexer, when it is back.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan GenerousWait = TimeSpan.FromSeconds(45);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"recon-redis-{Guid.NewGuid():N}");
    private int _port;
    private Process? _server;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _port = FreeLoopbackPort();
        await StartServerAsync();
    }

    public Task DisposeAsync()
    {
        StopServer();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RedisStopped_AcquireFailsClosed_ThenResumesAfterRestartWithoutNewConnection(bool coalesce)
    {
        var options = new RateLimitOptions
        {
            KeyPrefix = "test:outage",
            Coalescing = { Enabled = coalesce },
            Providers = { ["sandbox"] = new() { Buckets = [new() { Name = "b", RatePerSecond = 1000m, Capacity = 100 }] } },
        };
        await using var redis = await RedisConnectionFactory.ConnectAsync($"127.0.0.1:{_port}");
        var limiter = new RedisProviderRateLimiter(redis, options);
        Assert.True((await limiter.TryAcquireAsync("sandbox", "list", null, 1, default)).Granted);

        StopServer();
        var failure = await UntilAsync(async () =>
        {
            try
            {
                await limiter.TryAcquireAsync("sandbox", "list", null, 1, default);
                return null;
            }
            catch (RateLimiterUnavailableException ex)
            {
                return ex;
            }
        });
        Assert.NotNull(failure);
        Assert.Contains("fail closed", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{_port}", failure.Message, StringComparison.Ordinal);
        Assert.Contains("sandbox", failure.Message, StringComparison.Ordinal);
        // several acquires at once while Redis is down (one batch when coalescing): each fails closed, none hangs
        var together = Enumerable.Range(0, 10).Select(_ => limiter.TryAcquireAsync("sandbox", "list", null, 1, default).AsTask()).ToArray();
        foreach (var attempt in together)
        {
            await Assert.ThrowsAsync<RateLimiterUnavailableException>(() => attempt);
        }

        await StartServerAsync();
        var resumed = await UntilAsync(async () =>
        {
            try
            {
                var d = await limiter.TryAcquireAsync("sandbox", "list", null, 1, default);
                return d.Granted ? (object)d : null;
            }
            catch (RateLimiterUnavailableException)
            {
                await Task.Delay(200);
                return null;
            }
        });
        Assert.NotNull(resumed);
        // the restarted server had no script: the limiter met NOSCRIPT and fell back to EVAL
        Assert.True(limiter.ScriptReloads >= 1);
        if (coalesce)
        {
            Assert.True(limiter.Coalescing.Acquires >= 2, "the acquires did not go through the batch script");
        }
    }

    private static async Task<T?> UntilAsync<T>(Func<Task<T?>> attempt) where T : class
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < GenerousWait)
        {
            if (await attempt() is { } value)
            {
                return value;
            }
            await Task.Delay(50);
        }
        return null;
    }

    private async Task StartServerAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--bind", "127.0.0.1", "--port", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--dir", _dir },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _server = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < GenerousWait)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, _port);
                return;
            }
            catch (SocketException)
            {
                Assert.False(_server.HasExited, $"redis-server exited with {(_server.HasExited ? _server.ExitCode : 0)} on port {_port}");
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"redis-server did not listen on {_port} within {GenerousWait.TotalSeconds} s");
    }

    private void StopServer()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill();
            _server.WaitForExit(10_000);
        }
        _server?.Dispose();
        _server = null;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
