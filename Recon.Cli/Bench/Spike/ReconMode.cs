using Azure;
using Azure.Storage.Queues;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Matching;
using Recon.Core.Persistence;
using Recon.Core.Queues;
using Recon.Core.RateLimiting;
using Stripe;

namespace Recon.Cli.Bench.Spike;

/// <summary>
/// The "after" column, driven by in-process workers standing in for the worker instances: batches go onto real Azurite
/// recon-high / recon-low queues (<see cref="PriorityQueueClient"/>: high first, guaranteed low share, leases, poison);
/// a dispatcher leases up to <see cref="BatchesInFlight"/> of them; one token pump per endpoint asks the Redis bucket and
/// waits exactly the time it names (the bench's stand-in for AcquireTokens + a durable timer: the waiting batch holds no
/// activity slot and no connection); FetchProviderPage and MatchAndPost run in <see cref="ActivitySlots"/> activity
/// slots, postings through PgBouncer behind the bulkhead. Every size comes from the <see cref="ConnectionBudget"/>.
/// </summary>
public sealed class ReconMode : ISpikeMode
{
    /// <summary>A lease as long as DTFx's default visibility timeout: far longer than a batch takes, so a message is
    /// handed out again only after a crash.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    /// <summary>How soon an empty queue is asked again: 100 ms, the Functions queue trigger's minimum polling interval.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How much earlier than the bucket said the pump asks again: 3 ms, about what a timer fired on this
    /// 2-core machine under load runs late (measured 2.65 ms on average); the asks inside it cost a Redis round trip each.</summary>
    private static readonly TimeSpan TimerMargin = TimeSpan.FromMilliseconds(3);

    /// <summary>How long the workers get to stop once the run is over before they are left behind: 30 s.</summary>
    private static readonly TimeSpan ShutdownAllowance = TimeSpan.FromSeconds(30);

    /// <summary>How long the pump waits before asking Redis again after a failed call: 50 ms, about one token's interval.</summary>
    private static readonly TimeSpan RedisRetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>How long an arriving low-priority job waits for others to share its queue message: 100 ms, so a pack
    /// holds ~7 jobs at the burst's 75 low jobs/s and ~1 at the baseline, for at most 0.1 s of added latency.</summary>
    private static readonly TimeSpan PackWindow = TimeSpan.FromMilliseconds(100);

    /// <summary>High-value jobs are sent at once, alone: they are few (5%) and their latency is the one that counts.</summary>
    private static readonly TimeSpan HighPackWindow = TimeSpan.Zero;

    /// <summary>Batches the dispatcher expects per queue message when it sizes a receive: a receive of N messages may
    /// bring up to N packs, so it asks for the free places over this (at least 1) and lets a pack overshoot the cap.</summary>
    private const int ExpectedPerMessage = 8;

    /// <summary>A failed attempt comes back after 1 s (queue visibility is whole seconds).</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<DatabaseBulkhead> _bulkheads;
    private readonly IProviderRateLimiter _rateLimiter;
    private readonly ISpikeProvider _provider;
    private readonly IMatcher _matcher;
    private readonly QueueServiceClient _queues;
    private readonly PriorityQueueOptions _queueOptions = new();
    private readonly List<Task> _running = [];
    private SpikeRecorder _recorder = null!;
    private Dictionary<string, SpikeJob> _byBatch = [];

    /// <param name="bulkheads">One bulkhead (and Npgsql pool) per worker instance the bench stands in for, each of the
    /// budget's per-instance size.</param>
    public ReconMode(IReadOnlyList<DatabaseBulkhead> bulkheads, IProviderRateLimiter rateLimiter, ISpikeProvider provider, IMatcher matcher, QueueServiceClient queues, ConnectionBudget budget)
    {
        ArgumentNullException.ThrowIfNull(bulkheads);
        ArgumentNullException.ThrowIfNull(budget);
        if (bulkheads.Count == 0 || bulkheads.Any(b => b.Capacity != budget.ClientConnectionsPerInstance))
        {
            throw new ArgumentException($"one bulkhead per instance, each of the budget's {budget.ClientConnectionsPerInstance} connections", nameof(bulkheads));
        }
        _bulkheads = bulkheads;
        _rateLimiter = rateLimiter;
        _provider = provider;
        _matcher = matcher;
        _queues = queues;
        ActivitySlots = bulkheads.Count * budget.Options.MaxConcurrentActivities;
        BatchesInFlight = 2 * ActivitySlots;
    }

    /// <summary>Activities run at once: per instance the budget's MaxConcurrentActivities (host.json
    /// maxConcurrentActivityFunctions, the same figure as its bulkhead and Npgsql pool), times the instances.</summary>
    public int ActivitySlots { get; }

    /// <summary>Batches leased at once: twice the activity slots, so every slot has a batch in it and one behind it
    /// holding or awaiting its token (no slot idles between batches), while the line at each endpoint's token stays
    /// short enough that a high batch leased now is served within a few tokens.</summary>
    public int BatchesInFlight { get; }

    public string Name => "recon";

    public string Description =>
        $"Azurite recon-high/recon-low ({_queueOptions.GuaranteedLowSharePercent}% low share; low jobs sent in packs of up to {BatchMessageCodec.MaxPackSize} gathered over {PackWindow.TotalMilliseconds:0} ms, high alone), Redis token bucket (95% of the limits) with one precise token pump per endpoint, " +
        $"{BatchesInFlight} batches in flight, {_bulkheads.Count} instances x {_bulkheads[0].Capacity} activity slots and bulkhead, PgBouncer (connection budget)";

    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(recorder);
        _recorder = recorder;
        _unexpected = 0;
        _byBatch = jobs.ToDictionary(j => j.BatchId, StringComparer.Ordinal);
        lock (_running)
        {
            _running.Clear();
        }
        // unique queue names per run: two runs (or a test beside a bench) never share messages
        var run = Guid.NewGuid().ToString("N")[..12];
        var options = new PriorityQueueOptions { HighQueue = $"spike-{run}-high", LowQueue = $"spike-{run}-low" };
        var queue = new PriorityQueueClient(_queues, options);
        await queue.CreateQueuesAsync(cancellationToken).ConfigureAwait(false);
        await WarmPoolsAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stop.CancelAfter(deadline);
            using var inFlight = new InFlightGate(BatchesInFlight);
            using var activities = new SemaphoreSlim(ActivitySlots, ActivitySlots);
            var lines = jobs.Select(j => j.Endpoint).Distinct(StringComparer.Ordinal).ToDictionary(e => e, _ => new EndpointLine(), StringComparer.Ordinal);
            var context = new RunContext(queue, options, lines, inFlight, activities, stop.Token);
            var workers = new List<Task>
            {
                Task.Run(() => SpikeArrivals.RunPackedAsync(jobs, recorder, (pack, ct) => queue.EnqueuePackAsync([.. pack.Select(SpikeArrivals.Message)], ct),
                    PackWindow, HighPackWindow, BatchMessageCodec.MaxPackSize, stop.Token), CancellationToken.None),
                Task.Run(() => DispatchAsync(context), CancellationToken.None),
            };
            workers.AddRange(lines.Select(l => Task.Run(() => PumpAsync(l.Key, l.Value, context), CancellationToken.None)));
            // bounded: ends when every job has finished, or at the deadline
            while (recorder.Finished < jobs.Count && !stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // the deadline: whatever is unfinished is reported as lost
                }
            }
            await stop.CancelAsync().ConfigureAwait(false);
            Task[] all;
            lock (_running)
            {
                all = [.. _running, .. workers];
            }
            try
            {
                await Task.WhenAll(all).WaitAsync(ShutdownAllowance, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // whatever is still running is reported as lost; the run must end
                Unexpected($"{all.Count(t => !t.IsCompleted)} workers still running {ShutdownAllowance.TotalSeconds:0} s after the run stopped");
            }
        }
        finally
        {
            foreach (var name in new[] { options.HighQueue, options.LowQueue, QueueNames.Poison(options.HighQueue), QueueNames.Poison(options.LowQueue) })
            {
                try
                {
                    await _queues.DeleteQueueAsync(name, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (SpikeArrivals.IsQueueFailure(ex, CancellationToken.None))
                {
                    // Azurite runs in memory: a queue left behind goes with it, and must not mask the run's outcome
                }
            }
        }
    }

    /// <summary>Opens every instance's pool to its full size before work arrives, as running instances have theirs: on a
    /// busy 2-core machine opening a connection through PgBouncer in the middle of the burst stalls the postings for a
    /// second, which is start-up cost, not the controls'.</summary>
    private async Task WarmPoolsAsync(CancellationToken ct)
    {
        var total = _bulkheads.Sum(b => b.Capacity);
        var opened = 0;
        var allOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var holders = _bulkheads.SelectMany(b => Enumerable.Range(0, b.Capacity).Select(_ => b.RunAsync(async (conn, token) =>
        {
            // hold this connection until every one is open, so the pool cannot hand the same one out twice
            if (Interlocked.Increment(ref opened) == total)
            {
                allOpen.TrySetResult();
            }
            await allOpen.Task.WaitAsync(token).ConfigureAwait(false);
        }, timeout.Token))).ToList();
        await Task.WhenAll(holders).ConfigureAwait(false);
    }

    /// <summary>The dispatcher: whenever in-flight places are free, leases messages (high first, the guaranteed low
    /// share kept by the queue client), one per <see cref="ExpectedPerMessage"/> free places, and lines each batch up at
    /// its endpoint's token pump. A pack may take a few places more than were free: they wait in the lines, holding no
    /// slot and no connection, and the dispatcher leases nothing more until the count is back under the cap.</summary>
    private async Task DispatchAsync(RunContext run)
    {
        try
        {
            // bounded by the run's token
            while (true)
            {
                var free = await run.InFlight.WaitFreeAsync(run.Stop).ConfigureAwait(false);
                var ask = Math.Clamp(free / ExpectedPerMessage, 1, 32);
                IReadOnlyList<LeasedBatchMessage> leased;
                try
                {
                    leased = await run.Queue.DequeueAsync(ask, Lease, run.Stop).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !run.Stop.IsCancellationRequested)
                {
                    // Azurite busy (or worse, then said on stderr): ask again after the polling interval
                    if (!SpikeArrivals.IsQueueFailure(ex, run.Stop))
                    {
                        Unexpected($"dispatcher: {ex.GetType().Name}: {ex.Message}");
                    }
                    leased = [];
                }
                run.InFlight.Take(leased.Count);
                foreach (var message in leased)
                {
                    var job = _byBatch[message.Message.BatchId];
                    run.Lines[job.Endpoint].Add(new Work(job, message));
                }
                if (leased.Count == 0)
                {
                    await Task.Delay(PollInterval, run.Stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (run.Stop.IsCancellationRequested)
        {
            // the run is over
        }
    }

    /// <summary>
    /// One endpoint's token pump: while a batch waits on this endpoint it asks the bucket, and when told to wait it
    /// waits exactly that long (no jitter, no step-back: the per-endpoint bucket holds one token, so every millisecond
    /// asked late is a millisecond of provider capacity lost). Each endpoint has its own pump, so one endpoint's wait
    /// never idles another. The token goes to the highest-priority batch waiting at the moment it is granted.
    /// </summary>
    private async Task PumpAsync(string endpoint, EndpointLine line, RunContext run)
    {
        try
        {
            // bounded by the run's token
            while (true)
            {
                await line.Waiting.WaitAsync(run.Stop).ConfigureAwait(false);
                // bounded by the run's token: every wait is the one the bucket (or a provider's Retry-After) asked for
                while (true)
                {
                    RateLimitDecision decision;
                    try
                    {
                        decision = await _rateLimiter.TryAcquireAsync(Providers.Stripe, endpoint, null, 1, run.Stop).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Redis slow or unreachable: no token means no call; say so and ask again shortly, the pump must not die
                        Unexpected($"token bucket: {ex.GetType().Name}: {ex.Message}");
                        await Task.Delay(RedisRetryDelay, run.Stop).ConfigureAwait(false);
                        continue;
                    }
                    if (decision.Granted)
                    {
                        break;
                    }
                    // a timer fires a millisecond or more late on a busy machine; inside the margin the Redis round trip is the wait
                    if (decision.RetryAfter > TimerMargin)
                    {
                        await Task.Delay(decision.RetryAfter - TimerMargin, run.Stop).ConfigureAwait(false);
                    }
                }
                var work = line.Take();
                var task = Task.Run(() => RunBatchAsync(work, line, run), CancellationToken.None);
                lock (_running)
                {
                    _running.Add(task);
                    if (_running.Count > 1024)
                    {
                        _running.RemoveAll(t => t.IsCompleted);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (run.Stop.IsCancellationRequested)
        {
            // the run is over
        }
    }

    /// <summary>A batch with its token: FetchProviderPage, then MatchAndPost, each in an activity slot; then the
    /// message is completed. A failed attempt goes back to its queue with the reason; the fifth is poisoned.</summary>
    private async Task RunBatchAsync(Work work, EndpointLine line, RunContext run)
    {
        var (job, message) = work;
        var ct = run.Stop;
        _recorder.Attempt(job);
        try
        {
            ProviderPage page;
            await run.Activities.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                page = await _provider.CallAsync(job, ct).ConfigureAwait(false);
                _recorder.ProviderAnswered(throttled: false);
            }
            catch (ProviderThrottledException ex)
            {
                // the caller paused the bucket for everyone; this batch lines up again after the pause, holding nothing
                _recorder.ProviderAnswered(throttled: true);
                _ = LineUpAgainAsync(work, line, ex.RetryAfter, ct);
                return;
            }
            catch (Exception ex) when (ex is TimeoutException or HttpRequestException or StripeException && !ct.IsCancellationRequested)
            {
                await SettleFailedAsync(work, run, $"provider: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
                return;
            }
            finally
            {
                run.Activities.Release();
            }

            bool completedNow;
            await run.Activities.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                // the activity runs on whichever instance has a free slot, as Durable Task hands work items to the free worker
                var bulkhead = _bulkheads.MinBy(b => b.InUse)!;
                completedNow = await bulkhead.RunAsync(async (conn, token) =>
                {
                    await using var tx = await conn.BeginTransactionAsync(token).ConfigureAwait(false);
                    var done = await SpikePosting.MatchAndPostAsync(conn, tx, job, page, _matcher, token).ConfigureAwait(false);
                    await tx.CommitAsync(token).ConfigureAwait(false);
                    return done;
                }, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
            {
                var what = ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : ex.GetType().Name;
                _recorder.DbError(what);
                await SettleFailedAsync(work, run, $"posting: {what}").ConfigureAwait(false);
                return;
            }
            finally
            {
                run.Activities.Release();
            }
            if (completedNow)
            {
                _recorder.Completed(job);
            }
            try
            {
                await message.CompleteAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException || SpikeArrivals.IsQueueFailure(ex, ct))
            {
                // the lease ended first: the message comes back and its posting finds the batch already done
            }
            run.InFlight.Release();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the deadline: reported as lost
        }
        catch (Exception ex)
        {
            // anything else is a bench bug or a broken dependency: say what, and give the batch back to its queue so
            // nothing is lost and the in-flight place is freed
            Unexpected($"batch {job.BatchId}: {ex.GetType().Name}: {ex.Message}");
            await SettleFailedAsync(work, run, $"unexpected: {ex.GetType().Name}").ConfigureAwait(false);
        }
    }

    private int _unexpected;

    /// <summary>Writes the first few unexpected failures to stderr, so a stalled run says why.</summary>
    private void Unexpected(string what)
    {
        if (Interlocked.Increment(ref _unexpected) <= 20)
        {
            Console.Error.WriteLine($"recon bench: recon: {what}");
        }
    }

    private static async Task LineUpAgainAsync(Work work, EndpointLine line, TimeSpan after, CancellationToken ct)
    {
        try
        {
            await Task.Delay(after, ct).ConfigureAwait(false);
            line.Add(work);
        }
        catch (OperationCanceledException)
        {
            // the deadline: reported as lost
        }
    }

    /// <summary>Back to the queue with the reason (seen again after <see cref="RetryDelay"/>), or to the poison queue
    /// when this was the last delivery allowed; either way the in-flight place is freed.</summary>
    private async Task SettleFailedAsync(Work work, RunContext run, string reason)
    {
        var (job, message) = work;
        try
        {
            if (message.DequeueCount >= run.Options.MaxDequeueCount)
            {
                await message.PoisonAsync(reason, run.Stop).ConfigureAwait(false);
                _recorder.Failed(job);
            }
            else
            {
                await message.AbandonAsync(reason, RetryDelay, run.Stop).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException || SpikeArrivals.IsQueueFailure(ex, run.Stop))
        {
            // the lease ended first: the message comes back by itself
        }
        finally
        {
            run.InFlight.Release();
        }
    }

    private sealed record Work(SpikeJob Job, LeasedBatchMessage Message);

    private sealed record RunContext(
        PriorityQueueClient Queue, PriorityQueueOptions Options, Dictionary<string, EndpointLine> Lines, InFlightGate InFlight, SemaphoreSlim Activities, CancellationToken Stop);

    /// <summary>Batches leased and not yet settled, against the cap: unlike a semaphore it may go over the cap by the
    /// rest of a pack (taken in one piece), and then lets the dispatcher wait until enough are settled.</summary>
    private sealed class InFlightGate(int capacity) : IDisposable
    {
        private readonly SemaphoreSlim _settled = new(0, int.MaxValue);
        private int _inUse;

        /// <summary>Waits until at least one place is free and returns how many are.</summary>
        public async Task<int> WaitFreeAsync(CancellationToken ct)
        {
            // bounded by the run's token; each turn follows a settled batch
            while (capacity - Volatile.Read(ref _inUse) <= 0)
            {
                await _settled.WaitAsync(ct).ConfigureAwait(false);
            }
            return capacity - Volatile.Read(ref _inUse);
        }

        public void Take(int batches) => Interlocked.Add(ref _inUse, batches);

        public void Release()
        {
            Interlocked.Decrement(ref _inUse);
            _settled.Release();
        }

        public void Dispose() => _settled.Dispose();
    }

    /// <summary>The batches waiting for one endpoint's next token, high first.</summary>
    private sealed class EndpointLine
    {
        private readonly Queue<Work> _high = new();
        private readonly Queue<Work> _low = new();
        private readonly Lock _gate = new();

        /// <summary>Counts the batches waiting: the pump asks for a token only when one does.</summary>
        public SemaphoreSlim Waiting { get; } = new(0, int.MaxValue);

        public void Add(Work work)
        {
            lock (_gate)
            {
                (work.Job.High ? _high : _low).Enqueue(work);
            }
            Waiting.Release();
        }

        public Work Take()
        {
            lock (_gate)
            {
                return _high.Count > 0 ? _high.Dequeue() : _low.Dequeue();
            }
        }
    }
}
