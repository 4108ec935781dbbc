using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Recon.Bench.Cost;
using Recon.Tests.Deploy;

namespace Recon.Tests.Bench;

/// <summary>
/// The cost model against a price book of round numbers, with every expected dollar worked out by hand in the
/// comments, and the real dated price file checked for what each entry must carry.
/// </summary>
public sealed class CostModelTests
{
    // Round prices, so the arithmetic below can be done by hand. 730 h a month makes the monthly grants and
    // per-month prices come out per hour: 73,000 GB-s -> 100 GB-s/h, 730,000 executions -> 1,000/h,
    // 7.3 GB -> 0.01 GB/h, $0.365/GB-month -> $0.0005/GB-h, $0.073 -> $0.0001, $0.0365 -> $0.00005.
    private static readonly Dictionary<string, (string Unit, decimal Value)> RoundPrices = new()
    {
        ["functions.flex.on_demand.execution_time"] = (CostUnits.PerGbSecond, 0.00002m),
        ["functions.flex.on_demand.executions"] = (CostUnits.PerMillionExecutions, 0.50m),
        ["functions.flex.on_demand.free_gb_seconds_per_month"] = (CostUnits.GbSecondsPerMonth, 73_000m),
        ["functions.flex.on_demand.free_executions_per_month"] = (CostUnits.ExecutionsPerMonth, 730_000m),
        ["functions.flex.always_ready.baseline"] = (CostUnits.PerGbSecond, 0.000004m),
        ["storage.queue.class1"] = (CostUnits.Per10kOperations, 0.004m),
        ["storage.queue.class2"] = (CostUnits.Per10kOperations, 0.002m),
        ["storage.queue.capacity"] = (CostUnits.PerGbMonth, 0.073m),
        ["storage.table.transactions"] = (CostUnits.Per10kOperations, 0.0004m),
        ["storage.table.capacity"] = (CostUnits.PerGbMonth, 0.073m),
        ["storage.blob.hot.write"] = (CostUnits.Per10kOperations, 0.05m),
        ["storage.blob.hot.other"] = (CostUnits.Per10kOperations, 0.004m),
        ["storage.blob.hot.capacity"] = (CostUnits.PerGbMonth, 0.0365m),
        ["postgres.flexible.general_purpose.standard_d2ds_v5"] = (CostUnits.PerHour, 0.10m),
        ["postgres.flexible.storage"] = (CostUnits.PerGbMonth, 0.365m),
        ["redis.managed.balanced_b0"] = (CostUnits.PerNodeHour, 0.02m),
        ["keyvault.standard.operations"] = (CostUnits.Per10kOperations, 0.03m),
        ["loganalytics.ingestion"] = (CostUnits.PerGb, 2.00m),
        ["loganalytics.free_gb_per_month"] = (CostUnits.GbPerMonth, 7.3m),
    };

    private static readonly object[] RoundStorageClasses =
    [
        new { service = "queue", price_id = "storage.queue.class1", source_url = "https://azure.microsoft.com/q", operations = new[] { "PutMessage", "GetMessages", "DeleteMessage" } },
        new { service = "queue", price_id = "storage.queue.class2", source_url = "https://azure.microsoft.com/q", operations = new[] { "PeekMessages" } },
        new { service = "table", price_id = "storage.table.transactions", source_url = "https://azure.microsoft.com/t", operations = new[] { "QueryEntities", "InsertEntity" } },
        new { service = "blob", price_id = "storage.blob.hot.write", source_url = "https://azure.microsoft.com/b", operations = new[] { "PutBlob" } },
        new { service = "blob", price_id = "storage.blob.hot.other", source_url = "https://azure.microsoft.com/b", operations = new[] { "LeaseBlob" } },
        new { service = "blob", price_id = "free", source_url = "https://azure.microsoft.com/b", operations = new[] { "DeleteBlob" } },
    ];

    // 2 GB instances, no always-ready, 32 GB PostgreSQL, 2 Redis nodes, 3 secrets per start, 1 GB blob and 1 GB table
    // kept, no queue data, 100,000 bytes of telemetry per execution (large, so the line is visible by hand).
    private static readonly AzureDeployment Deployment = new()
    {
        InstanceMemoryMb = 2048,
        AlwaysReadyInstances = 0,
        PostgresStorageGb = 32,
        RedisNodes = 2,
        SecretsReadPerInstanceStart = 3,
        BlobStoredGb = 1m,
        TableStoredGb = 1m,
        QueueStoredGb = 0m,
        TelemetryBytesPerExecution = 100_000,
        ApplyFreeGrants = true,
    };

    // One day with the measured run twice in it: 24 h, 2 runs.
    private static readonly SpikeWeekShape TwoRunsInADay = new(Days: 1, RunsPerDay: 2);

    private static SpikeCounts Run(int completed = 100, double runSeconds = 900) => new()
    {
        Mode = "recon",
        Jobs = 100,
        Batches = 100,
        BatchesCompleted = completed,
        ActivityExecutions = 4_000,
        OrchestrationEpisodes = 900,
        FunctionExecutions = 5_000,
        Workers = 2,
        RunSeconds = runSeconds,
        StorageRequests =
        [
            new(StorageService.Queue, "PutMessage", 10_000),
            new(StorageService.Queue, "GetMessages", 20_000),
            new(StorageService.Queue, "PeekMessages", 10_000),
            new(StorageService.Table, "QueryEntities", 50_000),
            new(StorageService.Blob, "LeaseBlob", 10_000),
            new(StorageService.Blob, "DeleteBlob", 500),
        ],
    };

    // idle: the queue listener still polls 1,000 times an hour, nothing else
    private static readonly IdleProfile PollingIdle = new()
    {
        StorageRequestsPerHour = [new(StorageService.Queue, "GetMessages", 1_000)],
    };

    [Fact]
    public void SpikeWeek_KnownCounts_KnownDollars()
    {
        var estimate = CostModel.Estimate(Run(), PollingIdle, RoundBook(), Deployment, TwoRunsInADay);

        // scale = 2 runs x 100 batches / 100 completed = 2; busy 2 x 900 s = 0.5 h, idle 23.5 h of the 24
        // fixed:   PostgreSQL 24 h x 0.10                                   = 2.40
        //          PostgreSQL storage 32 GB x 24 h x 0.0005                 = 0.384
        //          Redis 2 nodes x 24 h x 0.02                              = 0.96
        //          blob 1 GB x 24 h x 0.00005 + table 1 GB x 24 h x 0.0001 = 0.0012 + 0.0024
        // usage:   executions 2 x 5,000 = 10,000 -> 0.01 M x 0.50           = 0.005, grant 24 h x 1,000 = 24,000 covers it: -0.005
        //          GB-s 2 x (2 workers x 900 s) x 2 GB = 7,200 x 0.00002    = 0.144, grant 24 x 100 = 2,400 GB-s: -0.048
        //          queue class 1: 2 x (10,000 + 20,000) + 23.5 h x 1,000 = 83,500 -> 8.35 x 0.004 = 0.0334
        //          queue class 2: 2 x 10,000 = 20,000 -> 2 x 0.002          = 0.004
        //          table: 2 x 50,000 = 100,000 -> 10 x 0.0004               = 0.004
        //          blob other (leases): 2 x 10,000 -> 2 x 0.004             = 0.008; deletes free
        //          Key Vault: 2 runs x 2 workers x 3 secrets = 12 -> 0.0012 x 0.03 = 0.000036
        //          telemetry: 10,000 x 100,000 B = 1 GB x 2.00              = 2.00, grant 24 x 0.01 = 0.24 GB: -0.48
        // total 2.40 + 0.384 + 0.96 + 0.0036 + 0 + 0.096 + 0.0334 + 0.004 + 0.004 + 0.008 + 0.000036 + 1.52 = 5.413036
        Assert.Equal(5.41m, estimate.SpikeWeekUsd);
        Assert.Equal(5.413036m, estimate.SpikeWeek.Sum(l => l.Usd));
        Assert.Equal(0.0334m, Line(estimate.SpikeWeek, "storage.queue.class1").Usd);
        Assert.Equal(8.35m, Line(estimate.SpikeWeek, "storage.queue.class1").Quantity);
        Assert.Equal(7_200m, Line(estimate.SpikeWeek, "functions.flex.on_demand.execution_time").Quantity);
        Assert.Equal(-0.048m, Line(estimate.SpikeWeek, "functions.flex.on_demand.free_gb_seconds_per_month").Usd);
        Assert.Equal(0m, Line(estimate.SpikeWeek, "free").Usd);
        // each line is its quantity times its unit price (to the nano-dollar)
        Assert.All(estimate.SpikeWeek, l => Assert.Equal(Math.Round(l.Quantity * l.UnitPriceUsd, 9, MidpointRounding.AwayFromZero), l.Usd));
        Assert.Empty(estimate.Warnings);
    }

    [Fact]
    public void IdleDay_NoWork_IsFixedTiersPlusTheIdleRequests()
    {
        var estimate = CostModel.Estimate(Run(), PollingIdle, RoundBook(), Deployment, TwoRunsInADay);

        // fixed as above: 2.40 + 0.384 + 0.96 + 0.0012 + 0.0024 = 3.7476
        // queue class 1: 24 h x 1,000 = 24,000 -> 2.4 x 0.004 = 0.0096; no executions, no GB-s, no telemetry
        // 3.7476 + 0.0096 = 3.7572
        Assert.Equal(3.76m, estimate.IdleDayUsd);
        Assert.Equal(3.7572m, estimate.IdleDay.Sum(l => l.Usd));
        Assert.Equal(0m, Line(estimate.IdleDay, "functions.flex.on_demand.execution_time").Quantity);
    }

    [Fact]
    public void IdleDay_OneSecondLoopKeepsAnInstanceBusy_PaysExecutionTimeAroundTheClock()
    {
        // the wave-1 dispatcher: an episode a second and one instance never idle
        var loop = PollingIdle with { FunctionExecutionsPerHour = 3_600, ActiveInstanceSecondsPerHour = 3_600 };

        var estimate = CostModel.Estimate(Run(), loop, RoundBook(), Deployment, TwoRunsInADay);

        // 3.7572 as above
        // + GB-s 24 x 3,600 x 2 GB = 172,800 x 0.00002 = 3.456, grant 2,400 GB-s: -0.048
        // + executions 86,400 -> 0.0864 M x 0.50 = 0.0432, grant 24,000: -0.012
        // = 3.7572 + 3.408 + 0.0312 = 7.1964
        Assert.Equal(7.1964m, estimate.IdleDay.Sum(l => l.Usd));
        Assert.Equal(7.20m, estimate.IdleDayUsd);
    }

    [Fact]
    public void HalfTheBatchesCompleted_UsageIsChargedPerCompletedBatch()
    {
        var full = CostModel.Estimate(Run(completed: 100), IdleProfile.Silent, RoundBook(), Deployment with { ApplyFreeGrants = false }, TwoRunsInADay);
        var half = CostModel.Estimate(Run(completed: 50), IdleProfile.Silent, RoundBook(), Deployment with { ApplyFreeGrants = false }, TwoRunsInADay);

        // scale 2 -> 4: every usage line doubles, the fixed ones stay
        foreach (var id in new[] { "functions.flex.on_demand.execution_time", "functions.flex.on_demand.executions", "storage.table.transactions", "loganalytics.ingestion" })
        {
            Assert.Equal(2 * Line(full.SpikeWeek, id).Usd, Line(half.SpikeWeek, id).Usd);
        }

        Assert.Equal(Line(full.SpikeWeek, "postgres.flexible.general_purpose.standard_d2ds_v5").Usd,
            Line(half.SpikeWeek, "postgres.flexible.general_purpose.standard_d2ds_v5").Usd);
        Assert.Contains(half.Assumptions, a => a.Contains("x 4 (2 x 100 batches / 50 completed)", StringComparison.Ordinal));
    }

    [Fact]
    public void FreeGrants_NeverExceedTheUsage_AndCanBeTurnedOff()
    {
        var with = CostModel.Estimate(Run(), PollingIdle, RoundBook(), Deployment, TwoRunsInADay);
        var without = CostModel.Estimate(Run(), PollingIdle, RoundBook(), Deployment with { ApplyFreeGrants = false }, TwoRunsInADay);

        // executions: 10,000 used, 24,000 granted -> the grant line takes back exactly the 0.005 used
        Assert.Equal(-Line(with.SpikeWeek, "functions.flex.on_demand.executions").Usd,
            Line(with.SpikeWeek, "functions.flex.on_demand.free_executions_per_month").Usd);
        Assert.DoesNotContain(without.SpikeWeek, l => l.Usd < 0);
        // without grants: 5.413036 + 0.005 + 0.048 + 0.48 = 5.946036
        Assert.Equal(5.946036m, without.SpikeWeek.Sum(l => l.Usd));
    }

    [Fact]
    public void RunsLongerThanTheWeek_LeaveNoIdleHours_AndSaySo()
    {
        // 2 runs of 13 h need 26 h of a 24 h day
        var estimate = CostModel.Estimate(Run(runSeconds: 13 * 3600), PollingIdle, RoundBook(), Deployment, TwoRunsInADay);

        // no idle polling is added: queue class 1 is the run's 2 x 30,000 only
        Assert.Equal(6m, Line(estimate.SpikeWeek, "storage.queue.class1").Quantity);
        Assert.Contains(estimate.Warnings, w => w.Contains("more than the 24 h week", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownStorageOperation_FailsNamingServiceAndOperation()
    {
        var counts = Run() with { StorageRequests = [new(StorageService.Queue, "Frobnicate", 1)] };

        var error = Assert.Throws<ArgumentException>(() => CostModel.Estimate(counts, PollingIdle, RoundBook(), Deployment, TwoRunsInADay));

        Assert.Contains("queue operation 'Frobnicate'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StorageOperationNames_MatchWithoutRegardToCase()
    {
        var counts = Run() with { StorageRequests = [new(StorageService.Queue, "getmessages", 10_000)] };

        var estimate = CostModel.Estimate(counts, IdleProfile.Silent, RoundBook(), Deployment, TwoRunsInADay);

        Assert.Equal(2m, Line(estimate.SpikeWeek, "storage.queue.class1").Quantity);
    }

    [Theory]
    [InlineData(0, "BatchesCompleted")]
    [InlineData(101, "BatchesCompleted")]
    public void CountsThatCannotBeScaled_FailNamingTheField(int completed, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => CostModel.Estimate(Run(completed), PollingIdle, RoundBook(), Deployment, TwoRunsInADay));

        Assert.Equal(field, error.ParamName);
        Assert.Contains("recon", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateStorageCount_Fails()
    {
        var counts = Run() with { StorageRequests = [new(StorageService.Blob, "LeaseBlob", 1), new(StorageService.Blob, "leaseblob", 2)] };

        var error = Assert.Throws<ArgumentException>(() => CostModel.Estimate(counts, PollingIdle, RoundBook(), Deployment, TwoRunsInADay));

        Assert.Contains("listed twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PriceInAnotherUnit_FailsInsteadOfPricingWrong()
    {
        // someone "updates" the execution price to a per-execution figure without touching the model
        var prices = RoundPrices.ToDictionary(p => p.Key, p => p.Value);
        prices["functions.flex.on_demand.executions"] = ("USD per execution", 0.0000005m);

        var error = Assert.Throws<InvalidDataException>(() => CostModel.Estimate(Run(), PollingIdle, RoundBook(prices), Deployment, TwoRunsInADay));

        Assert.Contains("functions.flex.on_demand.executions", error.Message, StringComparison.Ordinal);
        Assert.Contains("USD per million executions", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PriceFile_EntryWithoutSource_FailsNamingTheEntry()
    {
        var json = JsonNode.Parse(RoundBookJson(RoundPrices))!;
        json["prices"]![3]!["source_url"] = "";

        var error = Assert.Throws<InvalidDataException>(() => AzurePriceBook.Parse(json.ToJsonString(), "test.json"));

        Assert.Contains("price 'functions.flex.on_demand.free_executions_per_month'", error.Message, StringComparison.Ordinal);
        Assert.Contains("source_url", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PriceFile_UnconfirmedWithoutReason_Fails()
    {
        var json = JsonNode.Parse(RoundBookJson(RoundPrices))!;
        json["prices"]![0]!["confirmed"] = false;
        json["prices"]![0]!["reason"] = "";

        var error = Assert.Throws<InvalidDataException>(() => AzurePriceBook.Parse(json.ToJsonString(), "test.json"));

        Assert.Contains("needs a reason", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DatedPriceFile_ParsesAndEveryPriceHasSourceDateRegionAndCurrency()
    {
        var book = AzurePriceBook.LoadDefault();
        var onDisk = AzurePriceBook.Load(Path.Combine(BicepWorkspace.RepositoryRoot, "Recon.Bench", "Cost", AzurePriceBook.DefaultFileName));

        Assert.Equal("eastus2", book.Region);
        Assert.Equal(730m, book.HoursPerMonth);
        Assert.Equal(onDisk.Prices.OrderBy(p => p.Id), book.Prices.OrderBy(p => p.Id));
        Assert.True(book.Prices.Count >= 20, $"expected every price the brief lists, found {book.Prices.Count}");
        Assert.All(book.Prices, p =>
        {
            Assert.StartsWith("https://azure.microsoft.com/en-us/pricing/details/", p.SourceUrl, StringComparison.Ordinal);
            Assert.Equal("USD", p.Currency);
            Assert.Equal(book.Region, p.Region);
            Assert.InRange(p.AsOf, new DateOnly(2025, 1, 1), book.Compiled);
            Assert.True(p.Confirmed || p.Reason.Length > 0, $"{p.Id} is unconfirmed without a reason");
        });
        // every storage class points at a per-10,000 price (or is free), so every counted operation can be priced
        Assert.All(book.StorageOperations.Values.Where(id => id != AzurePriceBook.FreePriceId),
            id => Assert.Equal(CostUnits.Per10kOperations, book.Get(id, CostUnits.Per10kOperations).Unit));
        Assert.Equal("storage.queue.class1", book.StoragePriceId(StorageService.Queue, "PutMessage"));
        Assert.Equal("storage.table.transactions", book.StoragePriceId(StorageService.Table, "EntityGroupTransaction"));
        Assert.Equal("storage.blob.hot.other", book.StoragePriceId(StorageService.Blob, "LeaseBlob"));
    }

    [Fact]
    public void DatedPriceFile_PricesTheDeploymentAsBicepDefinesIt()
    {
        var root = BicepWorkspace.RepositoryRoot;
        var main = File.ReadAllText(Path.Combine(root, "bicep", "main.bicep"));
        var functionApp = File.ReadAllText(Path.Combine(root, "bicep", "modules", "functionapp.bicep"));
        var postgres = File.ReadAllText(Path.Combine(root, "bicep", "modules", "postgres.bicep"));
        var redis = File.ReadAllText(Path.Combine(root, "bicep", "modules", "redis.bicep"));
        var dev = File.ReadAllText(Path.Combine(root, "bicep", "main.dev.bicepparam"));
        var deployed = AzureDeployment.AsDeployed;

        Assert.Contains($"param instanceMemoryMB int = {deployed.InstanceMemoryMb}", functionApp, StringComparison.Ordinal);
        Assert.DoesNotContain("alwaysReady", functionApp, StringComparison.Ordinal);
        Assert.Equal(0, deployed.AlwaysReadyInstances);
        Assert.Contains($"param storageSizeGB int = {deployed.PostgresStorageGb}", postgres, StringComparison.Ordinal);
        // Managed Redis runs two nodes unless highAvailability is disabled, and the module leaves it alone
        Assert.DoesNotContain("highAvailability", redis, StringComparison.Ordinal);
        Assert.Equal(2, deployed.RedisNodes);
        var postgresSku = Regex.Match(main, @"param postgresSkuName string = '([^']+)'").Groups[1].Value;
        var redisSku = Regex.Match(main, @"param redisSkuName string = '([^']+)'").Groups[1].Value;
        Assert.Equal(deployed.PostgresComputePriceId, "postgres.flexible.general_purpose." + postgresSku.ToLowerInvariant());
        Assert.Equal(deployed.RedisPriceId, "redis.managed." + redisSku.ToLowerInvariant());
        Assert.Contains("readEnvironmentVariable('AZURE_LOCATION', 'eastus2')", dev, StringComparison.Ordinal);
        Assert.Contains("param storageSkuName string = 'Standard_LRS'", main, StringComparison.Ordinal);

        // and the real file prices it: every id the model asks for exists in the unit it computes in
        var estimate = CostModel.Estimate(Run(), PollingIdle, AzurePriceBook.LoadDefault());
        Assert.True(estimate.IdleDayUsd > 0);
        // the week holds seven idle days' fixed tiers and the work on top (grants cannot take back fixed tiers)
        var quiet = CostModel.Estimate(Run(), IdleProfile.Silent, AzurePriceBook.LoadDefault());
        Assert.True(quiet.SpikeWeekUsd >= 7 * quiet.IdleDayUsd - 0.05m, $"{quiet.SpikeWeekUsd} < 7 x {quiet.IdleDayUsd}");
        Assert.Contains("postgres.flexible.general_purpose.standard_d2ds_v5", estimate.UnconfirmedPrices);
        Assert.DoesNotContain("redis.managed.balanced_b0", estimate.UnconfirmedPrices);
    }

    [Fact]
    public void Estimate_SerializesWithTheSpikeJsonFieldNames()
    {
        var estimate = CostModel.Estimate(Run(), PollingIdle, RoundBook(), Deployment, TwoRunsInADay);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(estimate));

        Assert.Equal(5.41m, json.RootElement.GetProperty("spike_week_usd").GetDecimal());
        Assert.Equal(3.76m, json.RootElement.GetProperty("idle_day_usd").GetDecimal());
        Assert.True(json.RootElement.GetProperty("spike_week")[0].TryGetProperty("unit_price_usd", out _));
    }

    private static CostLine Line(IEnumerable<CostLine> lines, string priceId) => lines.Single(l => l.PriceId == priceId);

    private static AzurePriceBook RoundBook(Dictionary<string, (string Unit, decimal Value)>? prices = null)
        => AzurePriceBook.Parse(RoundBookJson(prices ?? RoundPrices), "round-prices.json");

    private static string RoundBookJson(Dictionary<string, (string Unit, decimal Value)> prices)
        => JsonSerializer.Serialize(new
        {
            compiled = "2026-12-02",
            region = "eastus2",
            currency = "USD",
            hours_per_month = 730,
            prices = prices.Select(p => new
            {
                id = p.Key,
                meter = p.Key,
                unit = p.Value.Unit,
                value = p.Value.Value,
                region = "eastus2",
                currency = "USD",
                as_of = "2026-12-01",
                source_url = "https://azure.microsoft.com/en-us/pricing/",
                confirmed = true,
                reason = "",
            }),
            storage_operations = RoundStorageClasses,
        });
}
