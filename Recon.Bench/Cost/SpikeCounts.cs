namespace Recon.Bench.Cost;

/// <summary>How many requests of one storage operation a run made (counted at the storage clients).</summary>
/// <param name="Operation">The REST API's operation name: PutMessage, GetMessages, QueryEntities, LeaseBlob, ...</param>
public sealed record StorageRequestCount(StorageService Service, string Operation, long Count);

/// <summary>
/// What one mode of one spike run did, as measured: the input of <see cref="CostModel"/>. Naive and recon fill the
/// same record, so both are priced by the same formula.
/// </summary>
public sealed record SpikeCounts
{
    /// <summary>"naive" or "recon" (for the report only).</summary>
    public required string Mode { get; init; }

    /// <summary>Jobs the workload offered (the same for every mode of one run).</summary>
    public required int Jobs { get; init; }

    /// <summary>Batches the run had to process.</summary>
    public required int Batches { get; init; }

    /// <summary>
    /// Batches completed. Usage is scaled per completed batch, so a mode that finished a quarter of the work by the
    /// deadline is charged four runs' worth of its requests for each run of the week, not rewarded for stopping.
    /// </summary>
    public required int BatchesCompleted { get; init; }

    /// <summary>Durable activity executions (reported beside the cost; Flex bills them as function executions).</summary>
    public long ActivityExecutions { get; init; }

    /// <summary>Durable orchestration episodes (reported beside the cost; Flex bills them as function executions).</summary>
    public long OrchestrationEpisodes { get; init; }

    /// <summary>Function executions Flex Consumption would bill: triggers, orchestrator episodes, activities.</summary>
    public required long FunctionExecutions { get; init; }

    /// <summary>Storage requests by service and operation; each (service, operation) at most once.</summary>
    public required IReadOnlyList<StorageRequestCount> StorageRequests { get; init; }

    /// <summary>Wall-clock seconds of the run, first arrival to last completion (or the deadline).</summary>
    public required double RunSeconds { get; init; }

    /// <summary>Worker processes, i.e. Flex instances, that ran the work.</summary>
    public required int Workers { get; init; }

    /// <summary>
    /// Seconds the instances were busy, summed over instances, when the bench measured it; otherwise
    /// <see cref="Workers"/> x <see cref="RunSeconds"/> (every instance busy the whole run, the Flex bill's upper bound).
    /// </summary>
    public double? ActiveInstanceSeconds { get; init; }

    /// <summary>Peak working set of one worker process in MB, when measured: checked against the instance size.</summary>
    public double? PeakWorkingSetMb { get; init; }

    /// <summary>Key Vault operations the run made itself (0 locally: the app reads its secrets at instance start).</summary>
    public long KeyVaultOperations { get; init; }

    /// <summary>Instance-seconds to bill: measured, or the upper bound.</summary>
    public double BilledInstanceSeconds => ActiveInstanceSeconds ?? Workers * RunSeconds;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot be priced.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(Mode), nameof(Mode), "is empty");
        Require(Jobs > 0, nameof(Jobs), $"must be positive (is {Jobs})");
        Require(Batches > 0, nameof(Batches), $"must be positive (is {Batches})");
        Require(BatchesCompleted > 0, nameof(BatchesCompleted), "must be positive: a run that completed nothing has no cost per batch to scale");
        Require(BatchesCompleted <= Batches, nameof(BatchesCompleted), $"({BatchesCompleted}) exceeds {nameof(Batches)} ({Batches})");
        Require(ActivityExecutions >= 0, nameof(ActivityExecutions), "is negative");
        Require(OrchestrationEpisodes >= 0, nameof(OrchestrationEpisodes), "is negative");
        Require(FunctionExecutions >= 0, nameof(FunctionExecutions), "is negative");
        Require(double.IsFinite(RunSeconds) && RunSeconds > 0, nameof(RunSeconds), $"must be positive (is {RunSeconds})");
        Require(Workers >= 1, nameof(Workers), $"must be at least 1 (is {Workers})");
        Require(ActiveInstanceSeconds is null || (double.IsFinite(ActiveInstanceSeconds.Value) && ActiveInstanceSeconds >= 0),
            nameof(ActiveInstanceSeconds), "is negative or not a number");
        Require(KeyVaultOperations >= 0, nameof(KeyVaultOperations), "is negative");
        StorageRequestCounts.Validate(StorageRequests, $"{Mode}: {nameof(StorageRequests)}");
    }

    private void Require(bool condition, string field, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"spike counts ({Mode}): {field} {problem}", field);
        }
    }
}

/// <summary>What the pipeline keeps doing per hour with no work at all (measured after a run drains).</summary>
public sealed record IdleProfile
{
    /// <summary>Nothing at all: scaled to zero, no polling that reaches Azure.</summary>
    public static readonly IdleProfile Silent = new();

    /// <summary>Storage requests per hour by service and operation (queue polling, Durable leases and control queues).</summary>
    public IReadOnlyList<StorageRequestCount> StorageRequestsPerHour { get; init; } = [];

    /// <summary>Function executions per hour (e.g. an eternal dispatcher's episodes and timers).</summary>
    public long FunctionExecutionsPerHour { get; init; }

    /// <summary>Seconds per hour an instance stays busy (3,600 when a 1 s loop keeps one instance alive).</summary>
    public double ActiveInstanceSecondsPerHour { get; init; }

    /// <summary>Telemetry GB per day the idle app still sends to Log Analytics.</summary>
    public double LogGbPerDay { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot be priced.</summary>
    public void Validate()
    {
        if (FunctionExecutionsPerHour < 0)
        {
            throw new ArgumentException($"idle profile: {nameof(FunctionExecutionsPerHour)} is negative", nameof(FunctionExecutionsPerHour));
        }

        if (!double.IsFinite(ActiveInstanceSecondsPerHour) || ActiveInstanceSecondsPerHour < 0)
        {
            throw new ArgumentException($"idle profile: {nameof(ActiveInstanceSecondsPerHour)} is negative", nameof(ActiveInstanceSecondsPerHour));
        }

        if (!double.IsFinite(LogGbPerDay) || LogGbPerDay < 0)
        {
            throw new ArgumentException($"idle profile: {nameof(LogGbPerDay)} is negative", nameof(LogGbPerDay));
        }

        StorageRequestCounts.Validate(StorageRequestsPerHour, $"idle profile: {nameof(StorageRequestsPerHour)}");
    }
}

internal static class StorageRequestCounts
{
    public static void Validate(IReadOnlyList<StorageRequestCount>? counts, string where)
    {
        if (counts is null)
        {
            throw new ArgumentException($"{where} is missing");
        }

        var seen = new HashSet<(StorageService, string)>();
        foreach (var count in counts)
        {
            if (string.IsNullOrWhiteSpace(count.Operation))
            {
                throw new ArgumentException($"{where}: a {count.Service} count has no operation name");
            }

            if (count.Count < 0)
            {
                throw new ArgumentException($"{where}: {count.Service} {count.Operation} is negative ({count.Count})");
            }

            if (!seen.Add((count.Service, count.Operation.ToUpperInvariant())))
            {
                throw new ArgumentException($"{where}: {count.Service} {count.Operation} is listed twice");
            }
        }
    }
}
