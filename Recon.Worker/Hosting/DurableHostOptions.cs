namespace Recon.Worker.Hosting;

/// <summary>Settings of the self-hosted Durable Task worker (section <c>Recon:Worker</c>).</summary>
public sealed class DurableHostOptions
{
    public const string SectionName = "Recon:Worker";

    /// <summary>Becomes the prefix of the hub's storage queues and tables: letters and digits, 3–45 characters.</summary>
    public string TaskHubName { get; set; } = "recon";

    /// <summary>Azure Storage connection string (Azurite locally).</summary>
    public string StorageConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>
    /// How long a dequeued activity message stays invisible. It is also how long a crashed worker's activity waits
    /// before another worker picks it up. 45 s: longer than the longest activity (a 10 s provider call, a 10 s
    /// database command, with slack under 2-core load) so a healthy activity is never handed out twice, and short
    /// enough that a kill -9 costs one and a half batch windows instead of the 5-minute default.
    /// </summary>
    public TimeSpan WorkItemVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>The same for orchestration (control queue) messages; orchestration episodes take milliseconds, so
    /// the same 45 s bounds recovery after a crash without redelivering a slow-but-alive episode.</summary>
    public TimeSpan ControlVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>Activities this process runs at once. 8 matches the database bulkhead (one connection each), so no
    /// activity ever waits on a connection it cannot get.</summary>
    public int MaxConcurrentActivities { get; set; } = 8;

    /// <summary>Orchestration episodes this process runs at once: they do no I/O, a few are enough on 2 cores.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 8;

    /// <summary>Control-queue partitions. One: a single worker process owns them all and the first start does not
    /// wait for four leases (DURABLE-NOTES: ~15 s on a new hub).</summary>
    public int PartitionCount { get; set; } = 1;

    /// <summary>Longest back-off between polls of an idle queue. 1 s: the 30 s window cannot afford the 30 s default.</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one read-and-write of the partition table may take before it is abandoned and tried again (DTFx's
    /// default is 2 s). 10 s: Azurite under a full test run answered in seconds at times (and, on its in-memory store, not at
    /// all for tens of seconds while its queue GC ran: README "Azurite on disk"), and with 2 s
    /// every renewal timed out until the worker lost its own partition — after which it dropped every redelivered
    /// control message as a duplicate and processed nothing. Still well inside the 30 s partition lease, so a hung
    /// call is retried before the lease runs out.
    /// </summary>
    public TimeSpan PartitionTableOperationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long one storage request of the Durable backend may wait for its answer before it is abandoned and retried (the
    /// Azure SDK's default is 100 s). Measured here: under a full test run, Azurite on its in-memory store stopped
    /// answering for 11–87 s at a time (README "Azurite on disk"), and the worker stalled for 85–100 s at a time —
    /// partition renewals timed out, no orchestration checkpointed. A request caught in such a stop waits out the whole
    /// network timeout before it is retried, holding one of the backend's 50 in-flight places; a healthy request takes
    /// milliseconds (seconds under load), so 10 s lets the retry go out soon after the service answers again.
    /// </summary>
    public TimeSpan StorageNetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the worker checks that the one dispatcher is alive and starts it again if it ended (failed,
    /// terminated, or was never started); 0 turns the check off after the first start.</summary>
    public TimeSpan DispatcherWatchInterval { get; set; } = TimeSpan.FromSeconds(30);
}
