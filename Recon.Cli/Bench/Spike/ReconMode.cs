using System.Collections.Concurrent;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;

namespace Recon.Cli.Bench.Spike;

/// <summary>
/// The "after" column: the Redis token bucket in front of every call (a refusal is a wait served on a timer, the
/// job holds no worker thread and no connection while it waits), high-priority work dispatched first with a
/// guaranteed low share, a capped number of batches in flight, and every posting through PgBouncer behind the bulkhead.
/// </summary>
/// <remarks>
/// The priority queue here is an in-process stand-in (two FIFO lists, high first): the Azurite recon-high/recon-low
/// client is being built on the throttle branch and replaces it when it lands.
/// </remarks>
public sealed class ReconMode(DatabaseBulkhead bulkhead, IProviderRateLimiter rateLimiter, ISpikeProvider provider) : ISpikeMode
{
    /// <summary>Batches in flight at once: enough to keep 71 req/s busy with ~100 ms calls and postings (about 10 per
    /// endpoint), few enough that a high-priority batch does not have to outrace many low ones for each endpoint's next token.</summary>
    public const int MaxInFlight = 32;

    /// <summary>One pick in this many goes to low priority even while high work waits, so low never starves.</summary>
    public const int LowShareEvery = 10;

    /// <summary>A posting that fails (a dropped connection) is tried again this many times before the batch fails.</summary>
    private const int MaxPostingAttempts = 5;

    private readonly ConcurrentQueue<SpikeJob> _high = new();
    private readonly ConcurrentQueue<SpikeJob> _low = new();
    private SpikeRecorder _recorder = null!;

    public string Name => "recon";

    public string Description =>
        $"Redis token bucket (95% of the limits), waits instead of retries, high first ({MaxInFlight} in flight, 1 in {LowShareEvery} picks low), PgBouncer + bulkhead of {bulkhead.Capacity}";

    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(recorder);
        _recorder = recorder;
        _high.Clear();
        _low.Clear();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(deadline);
        using var slots = new SemaphoreSlim(MaxInFlight, MaxInFlight);
        using var wake = new SemaphoreSlim(0, int.MaxValue);
        var arrivals = Task.Run(() => ArriveAsync(jobs, wake, stop.Token), CancellationToken.None);
        var running = new List<Task>();
        long picks = 0;
        try
        {
            // bounded: ends when every job has finished, or at the deadline
            while (recorder.Finished < jobs.Count)
            {
                await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                SpikeJob? job = null;
                // bounded by the deadline: wait for an arrival (or a finish) when both queues are empty
                while (job is null && !stop.IsCancellationRequested && recorder.Finished < jobs.Count)
                {
                    var lowTurn = ++picks % LowShareEvery == 0;
                    if ((lowTurn && _low.TryDequeue(out job)) || _high.TryDequeue(out job) || _low.TryDequeue(out job))
                    {
                        break;
                    }
                    await wake.WaitAsync(TimeSpan.FromMilliseconds(50), stop.Token).ConfigureAwait(false);
                }
                if (job is null)
                {
                    slots.Release();
                    continue;
                }
                var picked = job;
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await ProcessAsync(picked, stop.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, CancellationToken.None));
                if (running.Count > 1024)
                {
                    running.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the deadline: whatever is unfinished is reported as lost
        }
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(running.Append(arrivals)).ConfigureAwait(false);
    }

    private async Task ArriveAsync(IReadOnlyList<SpikeJob> jobs, SemaphoreSlim wake, CancellationToken ct)
    {
        foreach (var job in jobs)
        {
            var wait = job.ArrivalSeconds - _recorder.Now;
            if (wait > 0)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            _recorder.Arrived(job);
            (job.High ? _high : _low).Enqueue(job);
            wake.Release();
        }
    }

    private async Task ProcessAsync(SpikeJob job, CancellationToken ct)
    {
        _recorder.Attempt(job);
        try
        {
            ProviderPage? page = null;
            // bounded by the deadline token: every wait is one the bucket (or a provider's Retry-After) asked for
            while (page is null)
            {
                var decision = await rateLimiter.TryAcquireAsync(Providers.Stripe, job.Endpoint, null, 1, ct).ConfigureAwait(false);
                if (!decision.Granted)
                {
                    // a low batch told to wait steps back a little further, so the next token on its endpoint goes to a
                    // high batch when one is waiting: priority holds at the token too, not only at the queue
                    var wait = job.High ? decision.RetryAfter : decision.RetryAfter + LowStepBack;
                    await Task.Delay(wait + Jitter(), ct).ConfigureAwait(false);
                    continue;
                }
                try
                {
                    page = await provider.CallAsync(job, ct).ConfigureAwait(false);
                    _recorder.ProviderAnswered(throttled: false);
                }
                catch (ProviderThrottledException ex)
                {
                    // the fetcher paused the bucket for everyone; this job waits like the others
                    _recorder.ProviderAnswered(throttled: true);
                    await Task.Delay(ex.RetryAfter, ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // a provider call stuck past 10 s: the batch is tried again, after a fresh token
                }
            }
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await bulkhead.RunAsync(async (conn, token) =>
                    {
                        await using var tx = await conn.BeginTransactionAsync(token).ConfigureAwait(false);
                        await SpikePosting.MatchAndPostAsync(conn, tx, job, page, token).ConfigureAwait(false);
                        await tx.CommitAsync(token).ConfigureAwait(false);
                    }, ct).ConfigureAwait(false);
                    _recorder.Completed(job);
                    return;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
                {
                    _recorder.DbError(ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : ex.GetType().Name);
                    if (attempt >= MaxPostingAttempts)
                    {
                        _recorder.Failed(job);
                        return;
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the deadline: reported as lost
        }
    }

    /// <summary>4 ms: long enough for a waiting high batch to ask first, short enough that no token goes unused (the
    /// per-endpoint bucket holds one token, so a late asker loses it).</summary>
    private static readonly TimeSpan LowStepBack = TimeSpan.FromMilliseconds(4);

    /// <summary>Up to 5 ms, so the jobs told to wait the same time do not all ask again in the same instant.</summary>
    private static TimeSpan Jitter() => TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * 5);
}
