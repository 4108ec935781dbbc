using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using StackExchange.Redis;

namespace Recon.Cli;

/// <summary>
/// <c>recon bench bucket --out FILE.json</c>: one process, one multiplexer, many acquires in flight (pipelined) against
/// a two-level bucket (like Stripe's global + endpoint); then eight waiting clients against a finite rate to measure how
/// close admissions come to capacity + rate × elapsed (elapsed from Redis TIME).
/// </summary>
internal static class BenchBucketCommand
{
    private const int TargetAcquiresPerSecond = 50_000;
    private const string Provider = "bench";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        string? output = null;
        var seconds = 5;
        var concurrency = 256;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--out": output = Value(args, ref i); break;
                case "--seconds": seconds = PositiveInt(Value(args, ref i), "--seconds"); break;
                case "--concurrency": concurrency = PositiveInt(Value(args, ref i), "--concurrency"); break;
                default: throw new UsageException($"unexpected argument '{args[i]}'. usage: recon bench bucket --out FILE.json [--seconds N] [--concurrency N]");
            }
        }
        if (output is null)
        {
            throw new UsageException("usage: recon bench bucket --out FILE.json [--seconds N] [--concurrency N]");
        }
        var redisConfiguration = configuration[RedisConnectionFactory.ConfigurationKey]
            ?? throw new UsageException($"{RedisConnectionFactory.ConfigurationKey} is not set: run ./recon up first (./recon bench reads .recon/env).");

        await using var redis = await RedisConnectionFactory.ConnectAsync(redisConfiguration);
        if (!redis.IsConnected)
        {
            Console.Error.WriteLine($"recon bench bucket: Redis at {redisConfiguration} is not answering; is the stack up (./recon up)?");
            return 1;
        }
        // INFO (CPU time) needs admin mode; the limiter's own connection stays without it
        var adminOptions = RedisConnectionFactory.Options(redisConfiguration);
        adminOptions.AllowAdmin = true;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(adminOptions);
        var prefix = $"bench:{Guid.NewGuid():N}";

        // 1. throughput: limits far above what one process can ask, so the count measures the script and the client
        var fast = new RedisProviderRateLimiter(redis, Options(prefix + ":fast",
            new BucketOptions { Name = "global", Scope = BucketScope.Provider, RatePerSecond = 1_000_000m, Capacity = 1_000_000 },
            new BucketOptions { Name = "endpoint", Scope = BucketScope.Endpoint, RatePerSecond = 1_000_000m, Capacity = 1_000_000 }));
        await fast.TryAcquireAsync(Provider, "warmup", null, 1, CancellationToken.None);
        long acquires = 0, granted = 0;
        var run = TimeSpan.FromSeconds(seconds);
        // CPU time of both sides, so the figure can be read apart from the noise of a shared machine
        var redisCpuBefore = await RedisCpuSecondsAsync(admin);
        var clientCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            long mine = 0, mineGranted = 0;
            var endpoint = "list" + (w % 8).ToString(CultureInfo.InvariantCulture);
            while (clock.Elapsed < run)
            {
                var d = await fast.TryAcquireAsync(Provider, endpoint, null, 1, CancellationToken.None);
                mine++;
                mineGranted += d.Granted ? 1 : 0;
            }
            Interlocked.Add(ref acquires, mine);
            Interlocked.Add(ref granted, mineGranted);
        })));
        var throughputSeconds = clock.Elapsed.TotalSeconds;
        var perSecond = acquires / throughputSeconds;
        var redisCpuMicrosPerAcquire = (await RedisCpuSecondsAsync(admin) - redisCpuBefore) * 1e6 / acquires;
        var clientCpuMicrosPerAcquire = (Process.GetCurrentProcess().TotalProcessorTime - clientCpuBefore).TotalMicroseconds / acquires;

        // 2. accuracy: 8 clients on their own connections, each waiting the time it is told
        const decimal rate = 2_000m;
        const int capacity = 200;
        const int clients = 8;
        var accuracyOptions = Options(prefix + ":acc", new BucketOptions { Name = "one", RatePerSecond = rate, Capacity = capacity });
        var connections = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => RedisConnectionFactory.ConnectAsync(redisConfiguration)));
        long admitted = 0;
        var startMicros = await RedisMicrosAsync(admin);
        var accuracyClock = Stopwatch.StartNew();
        await Task.WhenAll(connections.Select(c => Task.Run(async () =>
        {
            var limiter = new RedisProviderRateLimiter(c, accuracyOptions);
            long mine = 0;
            while (accuracyClock.Elapsed < run)
            {
                var d = await limiter.TryAcquireAsync(Provider, "list", null, 1, CancellationToken.None);
                if (d.Granted)
                {
                    mine++;
                }
                else
                {
                    await Task.Delay(d.RetryAfter);
                }
            }
            Interlocked.Add(ref admitted, mine);
        })));
        var endMicros = await RedisMicrosAsync(admin);
        foreach (var c in connections)
        {
            await c.DisposeAsync();
        }
        var elapsed = (endMicros - startMicros) / 1_000_000m;
        var ceiling = capacity + (rate * elapsed);

        var report = new JsonObject
        {
            ["benchmark"] = "bucket",
            ["acquires_per_second"] = Math.Round(perSecond, 0),
            ["target_acquires_per_second"] = TargetAcquiresPerSecond,
            ["met_target"] = perSecond >= TargetAcquiresPerSecond,
            ["acquires"] = acquires,
            ["granted"] = granted,
            ["seconds"] = Math.Round(throughputSeconds, 3),
            ["concurrency"] = concurrency,
            ["buckets_per_acquire"] = 2,
            ["redis_cpu_us_per_acquire"] = Math.Round(redisCpuMicrosPerAcquire, 2),
            ["client_cpu_us_per_acquire"] = Math.Round(clientCpuMicrosPerAcquire, 2),
            // one core each for Redis and the client: the slower side sets the pace
            ["acquires_per_second_if_one_core_each"] = Math.Round(1e6 / Math.Max(redisCpuMicrosPerAcquire, clientCpuMicrosPerAcquire), 0),
            ["accuracy"] = new JsonObject
            {
                ["clients"] = clients,
                ["rate_per_second"] = rate,
                ["capacity"] = capacity,
                ["elapsed_seconds_redis_time"] = Math.Round(elapsed, 6),
                ["admitted"] = admitted,
                ["ceiling_capacity_plus_rate_x_elapsed"] = Math.Round(ceiling, 1),
                ["admitted_over_ceiling"] = Math.Round(admitted / ceiling, 5),
                ["admitted_rate_per_second"] = Math.Round((admitted - capacity) / elapsed, 1),
                ["never_above_ceiling"] = admitted <= ceiling,
            },
            ["redis"] = redisConfiguration,
            ["processor_count"] = Environment.ProcessorCount,
            ["note"] = "shared, noisy machine: figures vary run to run",
        };
        var json = report.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var directory = Path.GetDirectoryName(Path.GetFullPath(output));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        await File.WriteAllTextAsync(output, json + Environment.NewLine);
        Console.WriteLine(json);
        return 0;
    }

    private static RateLimitOptions Options(string prefix, params BucketOptions[] buckets) => new()
    {
        KeyPrefix = prefix,
        Providers = { [Provider] = new ProviderRateLimitOptions { Buckets = [.. buckets] } },
    };

    private static async Task<long> RedisMicrosAsync(IConnectionMultiplexer redis)
    {
        var time = await redis.GetServer(redis.GetEndPoints()[0]).TimeAsync();
        return (time - DateTime.UnixEpoch).Ticks / 10;
    }

    private static async Task<double> RedisCpuSecondsAsync(IConnectionMultiplexer redis)
    {
        var info = await redis.GetServer(redis.GetEndPoints()[0]).InfoAsync("cpu");
        var cpu = info.SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture);
    }

    private static string Value(string[] args, ref int i)
        => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");

    private static int PositiveInt(string text, string name)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new UsageException($"{name} must be a positive whole number (was '{text}')");
}
