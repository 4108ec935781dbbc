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
/// a two-level bucket (like Stripe's global + endpoint), through the single-acquire path (one EVALSHA per acquire) and
/// the coalescing path (one EVALSHA per batch of concurrent acquires); then eight waiting clients against a finite rate,
/// through each path, to measure how close admissions come to capacity + rate × elapsed (elapsed from Redis TIME).
/// </summary>
internal static class BenchBucketCommand
{
    public const string Usage = "bench bucket --out FILE.json [--seconds N] [--concurrency N] [--path single|batched|both] [--batch-size N] [--batches-in-flight N] [--accuracy-acquirers N]";
    private const int TargetAcquiresPerSecond = 50_000;
    private const string Provider = "bench";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var cli = new CliArgs(args, Usage, "--out", "--seconds", "--concurrency", "--path", "--batch-size", "--batches-in-flight", "--accuracy-acquirers");
        var output = cli.Required("--out");
        var seconds = cli.Int("--seconds", 5, 1, 3600);
        var concurrency = cli.Int("--concurrency", 256, 1, 100_000);
        var path = cli.Get("--path") ?? "both";
        if (path is not ("single" or "batched" or "both"))
        {
            throw new UsageException($"--path must be single, batched or both (was '{path}'). usage: {Usage}");
        }
        var coalescing = new AcquireCoalescingOptions
        {
            Enabled = true,
            MaxBatchSize = cli.Int("--batch-size", new AcquireCoalescingOptions().MaxBatchSize, 1, AcquireCoalescingOptions.MaxBatchSizeLimit),
            MaxBatchesInFlight = cli.Int("--batches-in-flight", new AcquireCoalescingOptions().MaxBatchesInFlight, 1, 64),
        };
        // concurrent acquirers per accuracy client on the batched path: 8 makes batches form (a client with one
        // acquire at a time never has two to merge), at the price of more CPU on a loaded machine
        var accuracyAcquirers = cli.Int("--accuracy-acquirers", 8, 1, 64);
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
        var run = TimeSpan.FromSeconds(seconds);

        // 1. throughput: limits far above what one process can ask, so the count measures the script and the client
        var fastBuckets = new[]
        {
            new BucketOptions { Name = "global", Scope = BucketScope.Provider, RatePerSecond = 1_000_000m, Capacity = 1_000_000 },
            new BucketOptions { Name = "endpoint", Scope = BucketScope.Endpoint, RatePerSecond = 1_000_000m, Capacity = 1_000_000 },
        };
        JsonObject? single = null, batched = null;
        if (path is "single" or "both")
        {
            var limiter = new RedisProviderRateLimiter(redis, Options(prefix + ":single", null, fastBuckets));
            single = await ThroughputAsync(limiter, admin, concurrency, run);
        }
        if (path is "batched" or "both")
        {
            var limiter = new RedisProviderRateLimiter(redis, Options(prefix + ":batched", coalescing, fastBuckets));
            batched = await ThroughputAsync(limiter, admin, concurrency, run);
            var stats = limiter.Coalescing;
            batched["batches"] = stats.Batches;
            batched["mean_batch_size"] = Math.Round(stats.MeanBatchSize, 1);
            batched["largest_batch"] = stats.LargestBatch;
            batched["max_batch_size"] = coalescing.MaxBatchSize;
            batched["max_batches_in_flight"] = coalescing.MaxBatchesInFlight;
        }

        // 1b. the single script called straight through StackExchange.Redis (keys and arguments prepared once): the
        // ceiling of client + server for one EVALSHA per acquire without the limiter's own work
        var rawKeys = new RedisKey[] { prefix + ":raw:{bench}:pause", prefix + ":raw:{bench}:g", prefix + ":raw:{bench}:e" };
        var rawArgs = new RedisValue[] { TokenBucketMath.NanoTokensPerToken, 1_000_000 * TokenBucketMath.NanoTokensPerToken, 1_000_000_000, 1_000_000 * TokenBucketMath.NanoTokensPerToken, 1_000_000_000 };
        var db = redis.GetDatabase();
        await db.ScriptEvaluateAsync(TokenBucketScript.Source, rawKeys, rawArgs);
        long rawCalls = 0;
        var rawClock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            long mine = 0;
            while (rawClock.Elapsed < run)
            {
                await db.ScriptEvaluateAsync(TokenBucketScript.Sha1, rawKeys, rawArgs);
                mine++;
            }
            Interlocked.Add(ref rawCalls, mine);
        })));
        var rawPerSecond = rawCalls / rawClock.Elapsed.TotalSeconds;

        // 2. accuracy, through each path measured
        JsonObject? singleAccuracy = null, batchedAccuracy = null;
        if (single is not null)
        {
            singleAccuracy = await AccuracyAsync(redisConfiguration, admin, prefix + ":acc-single", null, acquirersPerConnection: 1, run);
        }
        if (batched is not null)
        {
            batchedAccuracy = await AccuracyAsync(redisConfiguration, admin, prefix + ":acc-batched", coalescing, acquirersPerConnection: accuracyAcquirers, run);
        }
        if ((single is not null && singleAccuracy is null) || (batched is not null && batchedAccuracy is null))
        {
            return 1;
        }

        var headline = batched ?? single!;
        var headlinePath = batched is not null ? "batched" : "single";
        var perSecond = (double)headline["acquires_per_second"]!;
        var report = new JsonObject
        {
            ["benchmark"] = "bucket",
            ["acquires_per_second"] = perSecond,
            ["path"] = headlinePath,
            ["path_note"] = headlinePath == "batched"
                ? "acquires_per_second is the coalescing path (RateLimitOptions.Coalescing): concurrent acquires of one process decided N per EVALSHA, each still all or nothing; single_acquires_per_second is one EVALSHA per acquire"
                : "acquires_per_second is the single path: one EVALSHA per acquire",
            ["single_acquires_per_second"] = single?["acquires_per_second"]?.DeepClone(),
            ["target_acquires_per_second"] = TargetAcquiresPerSecond,
            ["met_target"] = perSecond >= TargetAcquiresPerSecond,
            ["seconds"] = seconds,
            ["concurrency"] = concurrency,
            ["buckets_per_acquire"] = 2,
            ["single"] = single,
            ["batched"] = batched,
            ["raw_single_script_calls_per_second"] = Math.Round(rawPerSecond, 0),
            ["accuracy"] = (batchedAccuracy ?? singleAccuracy)?.DeepClone(),
            ["accuracy_single"] = singleAccuracy,
            ["accuracy_batched"] = batchedAccuracy,
            ["redis"] = redisConfiguration,
            ["processor_count"] = Environment.ProcessorCount,
            ["note"] = "shared, noisy machine: figures vary run to run; CPU µs per acquire read apart from the noise",
        };
        var json = report.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        var directory = Path.GetDirectoryName(Path.GetFullPath(output));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        await File.WriteAllTextAsync(output, json + Environment.NewLine);
        Console.WriteLine(json);
        // above the ceiling is a limiter bug: fail. Below the floor means the clients did not ask fast enough (a loaded
        // machine stalls them between a refusal and its retry): reported, not failed, like every speed figure here.
        var accuracies = new[] { singleAccuracy, batchedAccuracy }.OfType<JsonObject>().ToArray();
        if (accuracies.Any(a => !(bool)a["never_above_ceiling"]!))
        {
            Console.Error.WriteLine("recon bench bucket: admitted MORE than capacity + rate × elapsed (see accuracy in the report)");
            return 1;
        }
        if (accuracies.Any(a => !(bool)a["within_bounds"]!))
        {
            Console.Error.WriteLine("recon bench bucket: warning: admitted below 0.97 × rate × elapsed + capacity: the clients fell behind (loaded machine?); see accuracy in the report");
        }
        return 0;
    }

    /// <summary><paramref name="concurrency"/> loops, each with one acquire in flight, for <paramref name="run"/>.</summary>
    private static async Task<JsonObject> ThroughputAsync(RedisProviderRateLimiter limiter, IConnectionMultiplexer admin, int concurrency, TimeSpan run)
    {
        var endpoints = Enumerable.Range(0, 8).Select(i => "list" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        // warm up: JIT, script cache, key arrays
        await Task.WhenAll(endpoints.Select(e => limiter.TryAcquireAsync(Provider, e, null, 1, CancellationToken.None).AsTask()));
        long acquires = 0, granted = 0;
        // CPU time of both sides, so the figure can be read apart from the noise of a shared machine
        var redisCpuBefore = await RedisCpuSecondsAsync(admin);
        var clientCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            long mine = 0, mineGranted = 0;
            var endpoint = endpoints[w % endpoints.Length];
            while (clock.Elapsed < run)
            {
                var d = await limiter.TryAcquireAsync(Provider, endpoint, null, 1, CancellationToken.None);
                mine++;
                mineGranted += d.Granted ? 1 : 0;
            }
            Interlocked.Add(ref acquires, mine);
            Interlocked.Add(ref granted, mineGranted);
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var redisCpu = (await RedisCpuSecondsAsync(admin) - redisCpuBefore) * 1e6 / acquires;
        var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientCpuBefore).TotalMicroseconds / acquires;
        return new JsonObject
        {
            ["acquires_per_second"] = Math.Round(acquires / elapsed, 0),
            ["acquires"] = acquires,
            ["granted"] = granted,
            ["seconds"] = Math.Round(elapsed, 3),
            ["redis_cpu_us_per_acquire"] = Math.Round(redisCpu, 2),
            ["client_cpu_us_per_acquire"] = Math.Round(clientCpu, 2),
            // one core each for Redis and the client: the slower side sets the pace
            ["acquires_per_second_if_one_core_each"] = Math.Round(1e6 / Math.Max(redisCpu, clientCpu), 0),
        };
    }

    /// <summary>
    /// Eight clients on their own connections, each waiting the time it is told (with coalescing, each connection's
    /// limiter carries <paramref name="acquirersPerConnection"/> concurrent acquirers so batches form). Elapsed runs
    /// from the first grant (which drains the burst, so a slow start is not lost) to the last, both stamped by the
    /// script with Redis TIME on the bucket key ("level:time").
    /// </summary>
    private static async Task<JsonObject?> AccuracyAsync(
        string redisConfiguration, IConnectionMultiplexer admin, string prefix, AcquireCoalescingOptions? coalescing, int acquirersPerConnection, TimeSpan run)
    {
        const decimal rate = 2_000m;
        const int capacity = 200;
        const int clients = 8;
        var options = Options(prefix, coalescing, new BucketOptions { Name = "one", RatePerSecond = rate, Capacity = capacity });
        var bucketKey = $"{prefix}:{{{Provider}}}:one";
        var connections = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => RedisConnectionFactory.ConnectAsync(redisConfiguration)));
        try
        {
            var limiters = connections.Select(c => new RedisProviderRateLimiter(c, options)).ToArray();
            long admitted = capacity;
            if (!(await limiters[0].TryAcquireAsync(Provider, "list", null, capacity, CancellationToken.None)).Granted)
            {
                Console.Error.WriteLine("recon bench bucket: the fresh accuracy bucket refused its first acquire");
                return null;
            }
            var startMicros = await LastGrantMicrosAsync(admin, bucketKey);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(limiters.SelectMany(limiter => Enumerable.Range(0, acquirersPerConnection).Select(_ => Task.Run(async () =>
            {
                long mine = 0;
                while (clock.Elapsed < run)
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
            }))));
            var endMicros = await LastGrantMicrosAsync(admin, bucketKey);
            var elapsed = (endMicros - startMicros) / 1_000_000m;
            var ceiling = capacity + (rate * elapsed);
            var floor = capacity + (0.97m * rate * elapsed);
            var stats = limiters.Select(l => l.Coalescing).ToArray();
            var report = new JsonObject
            {
                ["clients"] = clients,
                ["acquirers_per_client"] = acquirersPerConnection,
                ["rate_per_second"] = rate,
                ["capacity"] = capacity,
                ["elapsed_seconds_first_to_last_grant_redis_time"] = Math.Round(elapsed, 6),
                ["admitted"] = admitted,
                ["ceiling_capacity_plus_rate_x_elapsed"] = Math.Round(ceiling, 1),
                ["floor_capacity_plus_0_97_rate_x_elapsed"] = Math.Round(floor, 1),
                ["admitted_over_ceiling"] = Math.Round(admitted / ceiling, 5),
                ["admitted_rate_per_second"] = Math.Round((admitted - capacity) / elapsed, 1),
                ["never_above_ceiling"] = admitted <= ceiling,
                ["within_bounds"] = admitted <= ceiling && admitted >= floor,
            };
            if (coalescing is not null)
            {
                var batches = stats.Sum(s => s.Batches);
                report["batches"] = batches;
                report["mean_batch_size"] = batches == 0 ? 0 : Math.Round((double)stats.Sum(s => s.Acquires) / batches, 2);
                report["largest_batch"] = stats.Max(s => s.LargestBatch);
            }
            return report;
        }
        finally
        {
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }
        }
    }

    private static RateLimitOptions Options(string prefix, AcquireCoalescingOptions? coalescing, params BucketOptions[] buckets) => new()
    {
        KeyPrefix = prefix,
        Coalescing = coalescing ?? new AcquireCoalescingOptions(),
        Providers = { [Provider] = new ProviderRateLimitOptions { Buckets = [.. buckets] } },
    };

    /// <summary>The Redis TIME (µs) the script stamped on a bucket key at its last grant.</summary>
    private static async Task<long> LastGrantMicrosAsync(IConnectionMultiplexer redis, string key)
    {
        var value = (string?)await redis.GetDatabase().StringGetAsync(key)
            ?? throw new InvalidOperationException($"{key} expired before it was read (the machine stalled longer than its TTL)");
        return long.Parse(value[(value.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
    }

    private static async Task<double> RedisCpuSecondsAsync(IConnectionMultiplexer redis)
    {
        var info = await redis.GetServer(redis.GetEndPoints()[0]).InfoAsync("cpu");
        var cpu = info.SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture);
    }
}
