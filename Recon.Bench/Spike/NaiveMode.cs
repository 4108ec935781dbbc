using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Npgsql;
using Recon.Core.Ingestion;
using Recon.Core.Matching;
using Recon.Core.Queues;

namespace Recon.Bench.Spike;

/// <summary>
/// The "before" column: one FIFO queue (a real Azurite queue); every message gets its own task at once (a consumer that
/// scales out with the queue); each task opens its own connection straight to PostgreSQL and keeps its transaction open
/// across the provider call; a 429 is retried immediately a few times; a failed attempt makes the message visible again,
/// up to <see cref="MaxDeliveries"/> deliveries (a storage queue's maxDequeueCount), after which the batch is failed.
/// The posting itself is the same as Recon's (matcher, provider transaction store, reconciliation store).
/// </summary>
public sealed class NaiveMode(SpikeDatabase database, ISpikeProvider provider, IMatcher matcher, QueueServiceClient queues) : ISpikeMode, ISpikeModeCost
{
    /// <summary>Messages handed to a delivery task: each would be one queue-trigger function execution.</summary>
    private long _deliveries;

    /// <summary>A storage-queue trigger's default maxDequeueCount: after five deliveries the message is poisoned.</summary>
    public const int MaxDeliveries = 5;

    /// <summary>Immediate client retries on a 429, as a typical SDK wrapper does them (bounded, no wait).</summary>
    public const int ImmediateRetries = 3;

    /// <summary>How long a naive worker waits to connect before it counts a failure (Npgsql's default is 15 s).</summary>
    private const int ConnectTimeoutSeconds = 15;

    /// <summary>Azure Storage hands out at most 32 messages per receive.</summary>
    private const int ReceiveBatch = 32;

    /// <summary>How soon an empty queue is asked again: 100 ms, the Functions queue trigger's minimum polling interval.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The trigger's lease on a message it is working on: 10 minutes, the Functions queue trigger's default.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    /// <summary>How long deliveries get to stop after the hard end before they are left behind: 30 s, as in the recon mode.</summary>
    private static readonly TimeSpan ShutdownAllowance = TimeSpan.FromSeconds(30);

    private SpikeRecorder _recorder = null!;
    private Dictionary<string, SpikeJob> _byBatch = [];

    public string Name => "naive";

    public string Description =>
        $"direct to PostgreSQL (max_connections 100), no token bucket, {ImmediateRetries} immediate retries on 429, one FIFO Azurite queue, a task per message, {MaxDeliveries} deliveries";

    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(recorder);
        _recorder = recorder;
        Interlocked.Exchange(ref _deliveries, 0);
        _byBatch = jobs.ToDictionary(j => j.BatchId, StringComparer.Ordinal);
        // a unique queue per run: two runs (or a test beside a bench) never share messages
        var fifo = queues.GetQueueClient($"spike-{Guid.NewGuid().ToString("N")[..12]}-fifo");
        await fifo.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(deadline);
        var running = new List<Task>();
        var arrivals = Task.Run(() => SpikeArrivals.RunAsync(jobs, recorder,
            (job, ct) => fifo.SendMessageAsync(BatchMessageCodec.Encode(SpikeArrivals.Message(job)), ct), stop.Token), CancellationToken.None);
        var connectionString = new NpgsqlConnectionStringBuilder(database.Direct)
        {
            // every worker is its own instance: no shared pool keeps the connection count down
            Pooling = false,
            Timeout = ConnectTimeoutSeconds,
            CommandTimeout = 30,
            ApplicationName = "recon-spike-naive",
        }.ConnectionString;
        try
        {
            // bounded: ends when every job has finished (completed or failed) or at the deadline
            while (_recorder.Finished < jobs.Count)
            {
                QueueMessage[] received;
                try
                {
                    received = await fifo.ReceiveMessagesAsync(ReceiveBatch, Lease, stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (SpikeArrivals.IsQueueFailure(ex, stop.Token))
                {
                    // Azurite busy: ask again after the polling interval
                    received = [];
                }
                foreach (var message in received)
                {
                    Interlocked.Increment(ref _deliveries);
                    running.Add(Task.Run(() => DeliverAsync(fifo, message, connectionString, stop.Token), CancellationToken.None));
                }
                if (running.Count > 4096)
                {
                    running.RemoveAll(t => t.IsCompleted);
                }
                if (received.Length == 0)
                {
                    await Task.Delay(PollInterval, stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the hard end (last arrival + drain allowance): redeliveries are immediate, so without it a storm could run
            // on for ever; whatever is unfinished is reported as batches_unfinished_at_deadline
        }
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            // the hard end holds even for deliveries stuck in a driver or queue call that ignores cancellation: they
            // are left behind (their jobs count as unfinished at the deadline) and their Azurite is killed with the mode
            await Task.WhenAll(running.Append(arrivals)).WaitAsync(ShutdownAllowance, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"naive: {running.Count(t => !t.IsCompleted)} deliveries still running {ShutdownAllowance.TotalSeconds:0} s after the hard end; left behind");
        }
        try
        {
            await fifo.DeleteIfExistsAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (SpikeArrivals.IsQueueFailure(ex, CancellationToken.None))
        {
            // Azurite runs in memory: a queue left behind goes with it, and must not mask the run's outcome
        }
    }

    private async Task DeliverAsync(QueueClient fifo, QueueMessage message, string connectionString, CancellationToken ct)
    {
        SpikeJob job;
        try
        {
            job = _byBatch[BatchMessageCodec.Decode(message.Body.ToString()).Message.BatchId];
        }
        catch (MalformedBatchMessageException)
        {
            // the bench wrote every message itself: an unreadable one is a bug, and it must not stop the run
            return;
        }
        _recorder.Attempt(job);
        try
        {
            using var demand = _recorder.ClientConnection();
            await using var conn = new NpgsqlConnection(connectionString);
            try
            {
                await conn.OpenAsync(ct).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!ct.IsCancellationRequested)
            {
                // 53300 "sorry, too many clients already" is the one the story is about
                _recorder.DbError(ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : $"connect: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}");
                await RedeliverAsync(fifo, message, job, ct).ConfigureAwait(false);
                return;
            }
            await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await NaivePosting.MarkRunningAsync(conn, tx, job, ct).ConfigureAwait(false);
            var page = await CallWithImmediateRetriesAsync(job, ct).ConfigureAwait(false);
            var completedNow = await NaivePosting.MatchAndPostAsync(conn, tx, job, page, matcher, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            if (completedNow)
            {
                _recorder.Completed(job);
            }
            await DeleteQuietlyAsync(fifo, message, ct).ConfigureAwait(false);
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // the deadline: the job is reported as lost (whatever the driver threw while being cancelled)
            return;
        }
        catch (NpgsqlException ex)
        {
            _recorder.DbError(ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : $"query: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}");
            await RedeliverAsync(fifo, message, job, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ProviderThrottledException or HttpRequestException or TimeoutException or Stripe.StripeException)
        {
            await RedeliverAsync(fifo, message, job, ct).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            // Npgsql under a connection storm: a connector broken by the server is disposed under the command using it
            _recorder.DbError($"driver: {ex.GetType().Name}");
            await RedeliverAsync(fifo, message, job, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The trigger's failure path: visible again at once, or (the fifth delivery) removed and the batch failed.</summary>
    private async Task RedeliverAsync(QueueClient fifo, QueueMessage message, SpikeJob job, CancellationToken ct)
    {
        try
        {
            if (message.DequeueCount >= MaxDeliveries)
            {
                _recorder.Failed(job);
                await fifo.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct).ConfigureAwait(false);
            }
            else
            {
                await fifo.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (SpikeArrivals.IsQueueFailure(ex, ct))
        {
            // the lease ended first or Azurite did not answer: the message comes back by itself when its lease ends
        }
        catch (OperationCanceledException)
        {
            // the deadline: reported as lost
        }
    }

    private static async Task DeleteQuietlyAsync(QueueClient fifo, QueueMessage message, CancellationToken ct)
    {
        try
        {
            await fifo.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (SpikeArrivals.IsQueueFailure(ex, ct))
        {
            // the lease ended first or Azurite did not answer: the message comes back and its posting finds the batch done
        }
    }

    private async Task<ProviderPage> CallWithImmediateRetriesAsync(SpikeJob job, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var page = await provider.CallAsync(job, ct).ConfigureAwait(false);
                _recorder.ProviderAnswered(throttled: false);
                return page;
            }
            catch (ProviderThrottledException)
            {
                _recorder.ProviderAnswered(throttled: true);
                if (attempt >= ImmediateRetries)
                {
                    throw;
                }
            }
        }
    }

    /// <summary>Nothing to measure: as a queue-triggered function on Flex the naive app scales to zero, and the scale
    /// controller's polling is not billed to it (an assumption, stated in the estimate).</summary>
    public Task SampleIdleAsync(Action<string> log, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Its queue calls (tries) as counted by <see cref="QueueCallMeter"/>, one execution per message handled,
    /// one instance busy the whole run (the upper bound: its memory is not sampled).</summary>
    public (Cost.SpikeCounts Counts, Cost.IdleProfile Idle) CostInputs(SpikeRunResult result, Cost.AzurePriceBook prices)
    {
        ArgumentNullException.ThrowIfNull(result);
        var counts = new Cost.SpikeCounts
        {
            Mode = Name,
            Jobs = result.Jobs,
            Batches = result.Jobs,
            BatchesCompleted = result.BatchesCompleted,
            FunctionExecutions = Interlocked.Read(ref _deliveries),
            StorageRequests = SpikeCost.Merge(SpikeCost.QueueCalls(result, prices)),
            RunSeconds = result.WallSeconds,
            Workers = 1,
        };
        return (counts, Cost.IdleProfile.Silent);
    }
}
