namespace Recon.Core.Telemetry;

/// <summary>
/// Names of Recon's instruments and of their tags. The Azure Monitor workbook and alerts in <c>bicep/modules</c>
/// query these strings; <c>Recon.Tests/Deploy</c> checks that every name the KQL uses is defined here.
/// </summary>
/// <remarks>Lower-case and dotted, as OpenTelemetry's semantic conventions name metrics; units in UCUM.</remarks>
public static class ReconMetricNames
{
    /// <summary>Counter, <c>{call}</c>: provider HTTP calls. Tags: provider, endpoint, status code.</summary>
    public const string ProviderCalls = "recon.provider.calls";

    /// <summary>Histogram, seconds: provider call duration. Tags: provider, endpoint, status code.</summary>
    public const string ProviderCallDuration = "recon.provider.call.duration";

    /// <summary>Histogram, seconds: how long a batch waited for a rate-limit token. Tag: provider.</summary>
    public const string TokenWaitDuration = "recon.token.wait.duration";

    /// <summary>Histogram, seconds: batch duration from start to posted. Tags: priority, late.</summary>
    public const string BatchDuration = "recon.batch.duration";

    /// <summary>Counter, <c>{batch}</c>: batches that finished after their 30 s window. Tag: priority.</summary>
    public const string LateBatches = "recon.batches.late";

    /// <summary>Observable gauge, <c>{message}</c>: approximate messages in a queue. Tag: queue.</summary>
    public const string QueueDepth = "recon.queue.depth";

    /// <summary>Counter, <c>{result}</c>: reconciliation results written. Tag: outcome.</summary>
    public const string Results = "recon.results";

    /// <summary>Observable gauge, <c>{connection}</c>: database connections in use in this process. Tag: pool.</summary>
    public const string DbPoolInUse = "recon.db.pool.in_use";

    /// <summary>Span (Activity) name of one reconciled batch; its duration feeds the workbook's P99 by priority.</summary>
    public const string BatchSpan = "recon.batch";

    /// <summary>Span (Activity) name of one provider call.</summary>
    public const string ProviderCallSpan = "recon.provider.call";

    /// <summary>Every instrument name above (not the span names).</summary>
    public static IReadOnlyList<string> Instruments { get; } =
    [
        ProviderCalls, ProviderCallDuration, TokenWaitDuration, BatchDuration, LateBatches, QueueDepth, Results, DbPoolInUse,
    ];
}

/// <summary>Tag (attribute) names used by Recon's instruments and spans.</summary>
public static class ReconTagNames
{
    /// <summary>Provider: <c>stripe</c>, <c>plaid</c>, <c>bank_a</c>, <c>bank_b</c>.</summary>
    public const string Provider = "recon.provider";

    /// <summary>Provider endpoint, e.g. <c>/v1/balance_transactions</c> (Stripe limits per endpoint).</summary>
    public const string Endpoint = "recon.endpoint";

    /// <summary>HTTP status code as an integer; 0 when no response came back (timeout, connection error).</summary>
    public const string StatusCode = "http.response.status_code";

    /// <summary>Batch priority: 0 is the high queue, 1-10 the low queue.</summary>
    public const string Priority = "recon.priority";

    /// <summary>Whether the batch finished after its window (boolean).</summary>
    public const string Late = "recon.batch.late";

    /// <summary>Queue name, e.g. <c>recon-high</c>, <c>recon-low-poison</c>.</summary>
    public const string Queue = "recon.queue";

    /// <summary>Match outcome name (<see cref="Matching.MatchOutcome"/>).</summary>
    public const string Outcome = "recon.outcome";

    /// <summary>Which pool: <c>npgsql</c> for the data source, <c>bulkhead</c> for the in-process limiter.</summary>
    public const string Pool = "recon.db.pool";

    /// <summary>Batch id (spans only: too many values for a metric tag).</summary>
    public const string BatchId = "recon.batch.id";

    /// <summary>Every tag name above.</summary>
    public static IReadOnlyList<string> All { get; } = [Provider, Endpoint, StatusCode, Priority, Late, Queue, Outcome, Pool, BatchId];
}
