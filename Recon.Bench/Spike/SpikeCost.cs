using Recon.Bench.Cost;

namespace Recon.Bench.Spike;

/// <summary>
/// A mode that can be priced: what its run measured as <see cref="SpikeCounts"/>, and what it does idle as an
/// <see cref="IdleProfile"/>. <see cref="SpikeRunner"/> calls <see cref="SampleIdleAsync"/> after the mode's clock stopped
/// (its processes still running) and <see cref="CostInputs"/> once the run is summarized, and adds <see cref="CostModel"/>'s
/// estimate to the mode's <c>runs[]</c> entry as <c>cost</c>.
/// </summary>
public interface ISpikeModeCost
{
    /// <summary>Measures what the mode does with no work (after its run drained, before its processes stop).</summary>
    Task SampleIdleAsync(Action<string> log, CancellationToken cancellationToken);

    /// <summary>The run's counts and the idle profile; throws naming any storage request kind that has no price.</summary>
    (SpikeCounts Counts, IdleProfile Idle) CostInputs(SpikeRunResult result, AzurePriceBook prices);
}

/// <summary>Builds cost inputs from what a spike run measured.</summary>
public static class SpikeCost
{
    /// <summary>How long the product's workers are watched idle after their run (scaled to per hour).</summary>
    public static readonly TimeSpan IdleSample = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The bench-side queue calls of a run (tries, as storage bills each one) by REST operation, checked against the
    /// price file: a request the REST API does not define, or the file does not price, throws naming it.
    /// </summary>
    public static IEnumerable<StorageRequestCount> QueueCalls(SpikeRunResult result, AzurePriceBook prices)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(prices);
        foreach (var (operation, tries) in result.QueueOperations)
        {
            if (operation.Length == 0 || operation.StartsWith("unclassified", StringComparison.Ordinal))
            {
                throw new ArgumentException($"{result.Mode}: queue calls: no REST operation for '{operation}' ({tries} tries); classify it in {nameof(StorageOperations)}");
            }

            prices.StoragePriceId(StorageService.Queue, operation);
            yield return new StorageRequestCount(StorageService.Queue, operation, tries);
        }
    }

    /// <summary>Adds up counts of the same (service, operation) and drops zeros.</summary>
    public static List<StorageRequestCount> Merge(IEnumerable<StorageRequestCount> counts)
        => counts.GroupBy(c => (c.Service, c.Operation))
            .Select(g => new StorageRequestCount(g.Key.Service, g.Key.Operation, g.Sum(c => c.Count)))
            .Where(c => c.Count > 0)
            .OrderBy(c => c.Service).ThenBy(c => c.Operation, StringComparer.Ordinal)
            .ToList();

    /// <summary>Prices a mode's run, or null (with the reason logged) when it completed no batch: nothing to scale by.</summary>
    public static CostEstimate? Estimate(ISpikeModeCost mode, SpikeRunResult result, AzurePriceBook prices, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(log);
        if (result.BatchesCompleted == 0)
        {
            log($"{result.Mode}: no cost: the run completed no batch, so there is no cost per batch to scale to a week");
            return null;
        }

        var (counts, idle) = mode.CostInputs(result, prices);
        return CostModel.Estimate(counts, idle, prices);
    }
}
