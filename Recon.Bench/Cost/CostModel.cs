using System.Globalization;
using System.Text.Json.Serialization;

namespace Recon.Bench.Cost;

/// <summary>
/// The spike week: the measured run's workload repeated <see cref="RunsPerDay"/> times a day for <see cref="Days"/>
/// days; between runs the pipeline idles (the idle profile's rates apply to the hours left over).
/// </summary>
/// <remarks>
/// Default: one run an hour, every hour, for seven days, i.e. a 10x burst every hour of the week. A deliberately
/// heavy week (168 runs, about 553,000 jobs at the bench's default 0.75 scale), so usage is not lost next to the
/// fixed tiers; pass a smaller <see cref="RunsPerDay"/> for a quieter week.
/// </remarks>
public sealed record SpikeWeekShape(int Days = 7, decimal RunsPerDay = 24)
{
    public static readonly SpikeWeekShape Default = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the field that is out of range.</summary>
    public void Validate()
    {
        if (Days is < 1 or > 31)
        {
            throw new ArgumentException($"spike week shape: {nameof(Days)} must be 1 to 31 (is {Days})", nameof(Days));
        }

        if (RunsPerDay <= 0)
        {
            throw new ArgumentException($"spike week shape: {nameof(RunsPerDay)} must be positive (is {RunsPerDay})", nameof(RunsPerDay));
        }
    }
}

/// <summary>What <c>azd up</c> deploys, as far as the bill is concerned. Defaults are main.bicep's (= dev).</summary>
public sealed record AzureDeployment
{
    /// <summary>main.bicep's defaults, which dev keeps: FC1 at 2,048 MB, no always-ready, D2ds_v5, B0 with HA, LRS.</summary>
    public static readonly AzureDeployment AsDeployed = new();

    /// <summary>Flex Consumption instance memory (modules/functionapp.bicep instanceMemoryMB, default 2048).</summary>
    public int InstanceMemoryMb { get; init; } = 2048;

    /// <summary>Always-ready instances (functionapp.bicep configures none, so none are billed at the baseline).</summary>
    public int AlwaysReadyInstances { get; init; }

    /// <summary>PostgreSQL compute price id (main.bicep postgresSkuName Standard_D2ds_v5; prod D4ds_v5).</summary>
    public string PostgresComputePriceId { get; init; } = "postgres.flexible.general_purpose.standard_d2ds_v5";

    /// <summary>PostgreSQL provisioned storage (modules/postgres.bicep storageSizeGB 32; 7-day backups fit the free allowance).</summary>
    public int PostgresStorageGb { get; init; } = 32;

    /// <summary>Managed Redis price id, per node (main.bicep redisSkuName Balanced_B0; prod Balanced_B1).</summary>
    public string RedisPriceId { get; init; } = "redis.managed.balanced_b0";

    /// <summary>Redis nodes: 2, because modules/redis.bicep leaves highAvailability at its default (enabled).</summary>
    public int RedisNodes { get; init; } = 2;

    /// <summary>Key Vault reads per instance start: the three provider secrets main.bicep references (banks add more).</summary>
    public int SecretsReadPerInstanceStart { get; init; } = 3;

    /// <summary>Blob data kept (the Flex deployment package, Durable leases and large messages): an assumption.</summary>
    public decimal BlobStoredGb { get; init; } = 0.25m;

    /// <summary>Table data kept (Durable history and instances): an assumption.</summary>
    public decimal TableStoredGb { get; init; } = 0.5m;

    /// <summary>Queue data kept: the queues drain, so next to nothing.</summary>
    public decimal QueueStoredGb { get; init; }

    /// <summary>
    /// Application Insights bytes per function execution (a request item and a couple of dependency items, about 1 KB
    /// each, no sampling): an assumption, not measured here, since the local stack sends no telemetry to Azure.
    /// </summary>
    public long TelemetryBytesPerExecution { get; init; } = 3_000;

    /// <summary>
    /// Subtract the monthly free grants (Flex on-demand GB-s and executions, Log Analytics 5 GB), prorated to the
    /// period. They are per subscription or billing account, so turn this off when other workloads already use them.
    /// </summary>
    public bool ApplyFreeGrants { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field that is out of range.</summary>
    public void Validate()
    {
        Require(InstanceMemoryMb is 512 or 2048 or 4096, nameof(InstanceMemoryMb), "must be a Flex size: 512, 2048 or 4096");
        Require(AlwaysReadyInstances >= 0, nameof(AlwaysReadyInstances), "is negative");
        Require(PostgresStorageGb > 0, nameof(PostgresStorageGb), "must be positive");
        Require(RedisNodes >= 1, nameof(RedisNodes), "must be at least 1");
        Require(SecretsReadPerInstanceStart >= 0, nameof(SecretsReadPerInstanceStart), "is negative");
        Require(BlobStoredGb >= 0 && TableStoredGb >= 0 && QueueStoredGb >= 0, nameof(BlobStoredGb), "stored GB cannot be negative");
        Require(TelemetryBytesPerExecution >= 0, nameof(TelemetryBytesPerExecution), "is negative");
    }

    private static void Require(bool condition, string field, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"deployment: {field} {problem}", field);
        }
    }
}

/// <summary>One priced line: <see cref="Quantity"/> x <see cref="UnitPriceUsd"/> = <see cref="Usd"/> (negative for a free grant).</summary>
public sealed record CostLine(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("quantity")] decimal Quantity,
    [property: JsonPropertyName("unit")] string Unit,
    [property: JsonPropertyName("unit_price_usd")] decimal UnitPriceUsd,
    [property: JsonPropertyName("usd")] decimal Usd,
    [property: JsonPropertyName("price_id")] string PriceId);

/// <summary>What one mode's measured run would cost on Azure: a spike week and a day with nothing to do.</summary>
public sealed record CostEstimate
{
    [JsonPropertyName("mode")]
    public required string Mode { get; init; }

    /// <summary>The spike week, rounded to cents.</summary>
    [JsonPropertyName("spike_week_usd")]
    public required decimal SpikeWeekUsd { get; init; }

    /// <summary>24 hours with no work, rounded to cents.</summary>
    [JsonPropertyName("idle_day_usd")]
    public required decimal IdleDayUsd { get; init; }

    [JsonPropertyName("spike_week")]
    public required IReadOnlyList<CostLine> SpikeWeek { get; init; }

    [JsonPropertyName("idle_day")]
    public required IReadOnlyList<CostLine> IdleDay { get; init; }

    /// <summary>The week's shape and the scale applied to the run's counts, in words.</summary>
    [JsonPropertyName("assumptions")]
    public required IReadOnlyList<string> Assumptions { get; init; }

    /// <summary>Price ids used whose value was not confirmed for the region (see the price file's reasons).</summary>
    [JsonPropertyName("unconfirmed_prices")]
    public required IReadOnlyList<string> UnconfirmedPrices { get; init; }

    [JsonPropertyName("warnings")]
    public required IReadOnlyList<string> Warnings { get; init; }

    [JsonPropertyName("prices")]
    public required string PricesFile { get; init; }
}

/// <summary>
/// Prices a measured spike run on Azure as <c>azd up</c> deploys it. Pure: counts and prices in, dollars out.
/// </summary>
/// <remarks>
/// Per period of <c>H</c> hours (168 for the week, 24 for the idle day):
/// <code>
/// fixed  = H x (postgres/h + redis/node-h x nodes) + (postgres GB x storage price + stored GB x capacity price) x H / 730
///        + always-ready instances x memory GB x 3,600 H x baseline/GB-s
/// usage  = executions x price/million + instance-s x memory GB x price/GB-s
///        + sum over storage price classes (requests / 10,000 x class price)
///        + Key Vault ops / 10,000 x price + telemetry GB x ingestion price
/// grants = - min(usage quantity, monthly grant x H / 730), for Flex GB-s, Flex executions and Log Analytics GB
/// </code>
/// The week's usage is the run's counts x s, s = days x runs/day x batches / batches completed, plus the idle
/// profile's hourly rates over the hours the runs leave free; the idle day is the idle profile over 24 hours. Every
/// execution is billed at the on-demand rate (always-ready executions are cheaper, so this is an upper bound when
/// any are configured). docs/cost.md has the same formula with the reasons.
/// </remarks>
public static class CostModel
{
    private const decimal SecondsPerHour = 3600m;
    private const decimal MbPerGb = 1024m;
    private const decimal BytesPerGb = 1_000_000_000m;
    private const decimal Million = 1_000_000m;
    private const decimal TenThousand = 10_000m;

    /// <summary>Prices one mode. <paramref name="deployment"/> and <paramref name="shape"/> default to main.bicep and <see cref="SpikeWeekShape.Default"/>.</summary>
    /// <exception cref="ArgumentException">A count, the profile, the deployment or the shape is out of range; the message names it.</exception>
    public static CostEstimate Estimate(
        SpikeCounts counts,
        IdleProfile idle,
        AzurePriceBook prices,
        AzureDeployment? deployment = null,
        SpikeWeekShape? shape = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(idle);
        ArgumentNullException.ThrowIfNull(prices);
        deployment ??= AzureDeployment.AsDeployed;
        shape ??= SpikeWeekShape.Default;
        counts.Validate();
        idle.Validate();
        deployment.Validate();
        shape.Validate();

        var book = new Book(prices);
        var warnings = new List<string>();
        var memoryGb = deployment.InstanceMemoryMb / MbPerGb;
        if (counts.PeakWorkingSetMb > deployment.InstanceMemoryMb)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{counts.Mode}: a worker peaked at {counts.PeakWorkingSetMb:F0} MB, more than the {deployment.InstanceMemoryMb} MB Flex instance holds"));
        }

        var weekHours = shape.Days * 24m;
        var weekRuns = shape.Days * shape.RunsPerDay;
        var scale = weekRuns * counts.Batches / counts.BatchesCompleted;
        var busyHours = scale * (decimal)counts.RunSeconds / SecondsPerHour;
        var idleHours = weekHours - busyHours;
        if (idleHours < 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{counts.Mode}: {weekRuns} runs of {counts.RunSeconds:F1} s (x {counts.Batches}/{counts.BatchesCompleted} for unfinished batches) need {busyHours:F1} h, more than the {weekHours} h week; no idle hours left"));
            idleHours = 0;
        }

        var runExecutions = scale * counts.FunctionExecutions;
        var week = new Usage(
            Executions: runExecutions + idleHours * idle.FunctionExecutionsPerHour,
            InstanceSeconds: scale * (decimal)counts.BilledInstanceSeconds + idleHours * (decimal)idle.ActiveInstanceSecondsPerHour,
            Storage: Combine(book, (counts.StorageRequests, scale), (idle.StorageRequestsPerHour, idleHours)),
            KeyVaultOperations: scale * counts.KeyVaultOperations + weekRuns * counts.Workers * deployment.SecretsReadPerInstanceStart,
            LogGb: runExecutions * deployment.TelemetryBytesPerExecution / BytesPerGb + (decimal)idle.LogGbPerDay * idleHours / 24m);
        var day = new Usage(
            Executions: 24m * idle.FunctionExecutionsPerHour,
            InstanceSeconds: 24m * (decimal)idle.ActiveInstanceSecondsPerHour,
            Storage: Combine(book, (idle.StorageRequestsPerHour, 24m)),
            KeyVaultOperations: 0,
            LogGb: (decimal)idle.LogGbPerDay);

        var weekLines = Lines(book, deployment, memoryGb, weekHours, week);
        var dayLines = Lines(book, deployment, memoryGb, 24m, day);
        var assumptions = new List<string>
        {
            FormattableString.Invariant(
                $"spike week: the measured workload {shape.RunsPerDay} times a day for {shape.Days} days = {weekRuns} runs; the run's counts x {Fmt(scale)} ({weekRuns} x {counts.Batches} batches / {counts.BatchesCompleted} completed)"),
            FormattableString.Invariant($"busy {Fmt(busyHours)} h of {weekHours} h; the other {Fmt(idleHours)} h at the idle profile's hourly rates"),
            "idle day: 24 h of the idle profile plus the fixed tiers",
            FormattableString.Invariant(
                $"billed instance-seconds per run: {counts.BilledInstanceSeconds:F1}{(counts.ActiveInstanceSeconds is null ? FormattableString.Invariant($" ({counts.Workers} workers x {counts.RunSeconds:F1} s, the upper bound)") : " (measured)")} at {deployment.InstanceMemoryMb} MB"),
            FormattableString.Invariant(
                $"{deployment.TelemetryBytesPerExecution} bytes of telemetry per execution (assumed); free grants {(deployment.ApplyFreeGrants ? "prorated and subtracted" : "not applied")}"),
        };

        return new CostEstimate
        {
            Mode = counts.Mode,
            SpikeWeekUsd = Total(weekLines),
            IdleDayUsd = Total(dayLines),
            SpikeWeek = weekLines,
            IdleDay = dayLines,
            Assumptions = assumptions,
            UnconfirmedPrices = book.Used.Where(p => !p.Confirmed).Select(p => p.Id).Distinct().Order(StringComparer.Ordinal).ToList(),
            Warnings = warnings,
            PricesFile = $"{prices.Origin} (compiled {prices.Compiled:yyyy-MM-dd}, {prices.Region}, USD)",
        };
    }

    /// <summary>A line's dollars to the nano-dollar: GB-months over a week do not terminate, and no estimate needs more.</summary>
    private static decimal Usd(decimal exact) => Math.Round(exact, 9, MidpointRounding.AwayFromZero);

    private static decimal Total(IEnumerable<CostLine> lines)
        => Math.Round(lines.Sum(l => l.Usd), 2, MidpointRounding.AwayFromZero);

    private static string Fmt(decimal value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    private static List<CostLine> Lines(Book book, AzureDeployment deployment, decimal memoryGb, decimal hours, Usage usage)
    {
        var lines = new List<CostLine>();

        // a monthly quantity (GB kept for a month, a monthly grant) over this period; multiplied before dividing so
        // round inputs stay exact
        decimal ForPeriod(decimal perMonth) => perMonth * hours / book.Prices.HoursPerMonth;

        void Add(string name, decimal quantity, string unit, AzurePrice price)
            => lines.Add(new CostLine(name, quantity, unit, price.Value, Usd(quantity * price.Value), price.Id));

        void AddGrant(string name, decimal used, string unit, AzurePrice grantPerMonth, AzurePrice price, decimal unitsPerPriceUnit)
        {
            if (!deployment.ApplyFreeGrants)
            {
                return;
            }

            var free = Math.Min(used, ForPeriod(grantPerMonth.Value)) / unitsPerPriceUnit;
            lines.Add(new CostLine(name, -free, unit, price.Value, -Usd(free * price.Value), grantPerMonth.Id));
        }

        // fixed: whatever runs around the clock
        var postgres = book.Get(deployment.PostgresComputePriceId, CostUnits.PerHour);
        Add($"PostgreSQL Flexible Server compute ({postgres.Meter.Split('/').Last().Trim()})", hours, "hours", postgres);
        Add($"PostgreSQL storage ({deployment.PostgresStorageGb} GB provisioned)", ForPeriod(deployment.PostgresStorageGb), "GB-months",
            book.Get("postgres.flexible.storage", CostUnits.PerGbMonth));
        Add($"Azure Managed Redis ({deployment.RedisNodes} nodes)", deployment.RedisNodes * hours, "node-hours",
            book.Get(deployment.RedisPriceId, CostUnits.PerNodeHour));
        // lines that are zero as deployed are left out, so their (unconfirmed) prices are not reported as used
        if (deployment.AlwaysReadyInstances > 0)
        {
            Add($"Flex always-ready baseline ({deployment.AlwaysReadyInstances} instances)", deployment.AlwaysReadyInstances * memoryGb * hours * SecondsPerHour, "GB-s",
                book.Get("functions.flex.always_ready.baseline", CostUnits.PerGbSecond));
        }

        foreach (var (name, gb, priceId) in new[]
                 {
                     ("Blob capacity (hot LRS)", deployment.BlobStoredGb, "storage.blob.hot.capacity"),
                     ("Table capacity (LRS)", deployment.TableStoredGb, "storage.table.capacity"),
                     ("Queue capacity (LRS)", deployment.QueueStoredGb, "storage.queue.capacity"),
                 })
        {
            if (gb > 0)
            {
                Add($"{name}, {gb.ToString(CultureInfo.InvariantCulture)} GB", ForPeriod(gb), "GB-months", book.Get(priceId, CostUnits.PerGbMonth));
            }
        }

        // usage: what the work (and the idle pipeline) does
        var executionPrice = book.Get("functions.flex.on_demand.executions", CostUnits.PerMillionExecutions);
        Add("Flex executions (on demand)", usage.Executions / Million, "million executions", executionPrice);
        AddGrant("Flex free executions (monthly grant, prorated)", usage.Executions, "million executions",
            book.Get("functions.flex.on_demand.free_executions_per_month", CostUnits.ExecutionsPerMonth), executionPrice, Million);

        var gbSeconds = usage.InstanceSeconds * memoryGb;
        var timePrice = book.Get("functions.flex.on_demand.execution_time", CostUnits.PerGbSecond);
        Add($"Flex execution time (on demand, {deployment.InstanceMemoryMb} MB instances)", gbSeconds, "GB-s", timePrice);
        AddGrant("Flex free execution time (monthly grant, prorated)", gbSeconds, "GB-s",
            book.Get("functions.flex.on_demand.free_gb_seconds_per_month", CostUnits.GbSecondsPerMonth), timePrice, 1m);

        foreach (var (priceId, requests) in usage.Storage.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (priceId == AzurePriceBook.FreePriceId)
            {
                lines.Add(new CostLine("Storage: free operations (deletes)", requests / TenThousand, "10,000 operations", 0m, 0m, priceId));
                continue;
            }

            var price = book.Get(priceId, CostUnits.Per10kOperations);
            Add($"Storage: {price.Meter}", requests / TenThousand, "10,000 operations", price);
        }

        Add("Key Vault operations (secrets read at instance start)", usage.KeyVaultOperations / TenThousand, "10,000 operations",
            book.Get("keyvault.standard.operations", CostUnits.Per10kOperations));

        var ingestion = book.Get("loganalytics.ingestion", CostUnits.PerGb);
        Add("Log Analytics ingestion (Application Insights)", usage.LogGb, "GB", ingestion);
        AddGrant("Log Analytics free ingestion (monthly grant, prorated)", usage.LogGb, "GB",
            book.Get("loganalytics.free_gb_per_month", CostUnits.GbPerMonth), ingestion, 1m);

        return lines;
    }

    /// <summary>Sums storage requests per price class; each source is (counts, multiplier).</summary>
    private static Dictionary<string, decimal> Combine(Book book, params (IReadOnlyList<StorageRequestCount> Counts, decimal Times)[] sources)
    {
        var byPrice = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var (counts, times) in sources)
        {
            foreach (var count in counts)
            {
                var id = book.Prices.StoragePriceId(count.Service, count.Operation);
                byPrice[id] = byPrice.GetValueOrDefault(id) + count.Count * times;
            }
        }

        return byPrice;
    }

    private sealed record Usage(decimal Executions, decimal InstanceSeconds, Dictionary<string, decimal> Storage, decimal KeyVaultOperations, decimal LogGb);

    /// <summary>The price book plus a record of which prices an estimate used (for the unconfirmed list).</summary>
    private sealed class Book(AzurePriceBook prices)
    {
        public AzurePriceBook Prices { get; } = prices;

        public List<AzurePrice> Used { get; } = [];

        public AzurePrice Get(string id, string unit)
        {
            var price = Prices.Get(id, unit);
            Used.Add(price);
            return price;
        }
    }
}
