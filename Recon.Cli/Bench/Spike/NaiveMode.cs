using System.Threading.Channels;
using Npgsql;
using Recon.Core.Ingestion;

namespace Recon.Cli.Bench.Spike;

/// <summary>
/// The "before" column: one FIFO queue; every message gets its own task at once (a consumer that scales out with the
/// queue); each task opens its own connection straight to PostgreSQL and keeps its transaction open across the provider
/// call; a 429 is retried immediately a few times; a failed attempt goes back to the tail of the queue, up to
/// <see cref="MaxDeliveries"/> deliveries (a storage queue's maxDequeueCount), after which the batch is failed.
/// </summary>
public sealed class NaiveMode(SpikeDatabase database, ISpikeProvider provider) : ISpikeMode
{
    /// <summary>A storage-queue trigger's default maxDequeueCount: after five deliveries the message is poisoned.</summary>
    public const int MaxDeliveries = 5;

    /// <summary>Immediate client retries on a 429, as a typical SDK wrapper does them (bounded, no wait).</summary>
    public const int ImmediateRetries = 3;

    /// <summary>How long a naive worker waits to connect before it counts a failure (Npgsql's default is 15 s).</summary>
    private const int ConnectTimeoutSeconds = 15;

    private Channel<SpikeJob> _fifo = Channel.CreateUnbounded<SpikeJob>();
    private SpikeRecorder _recorder = null!;

    public string Name => "naive";

    public string Description =>
        $"direct to PostgreSQL (max_connections 100), no token bucket, {ImmediateRetries} immediate retries on 429, one FIFO queue, a task per message, {MaxDeliveries} deliveries";

    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(recorder);
        _recorder = recorder;
        _fifo = Channel.CreateUnbounded<SpikeJob>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(deadline);
        var running = new List<Task>();
        var arrivals = Task.Run(() => ArriveAsync(jobs, stop.Token), CancellationToken.None);
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
                var job = await _fifo.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
                running.Add(Task.Run(() => DeliverAsync(job, connectionString, stop.Token), CancellationToken.None));
                if (running.Count > 4096)
                {
                    running.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the deadline: whatever is unfinished is reported as lost
        }
        catch (ChannelClosedException)
        {
            // every job finished
        }
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(running.Append(arrivals)).ConfigureAwait(false);
    }

    private async Task ArriveAsync(IReadOnlyList<SpikeJob> jobs, CancellationToken ct)
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
            _fifo.Writer.TryWrite(job);
        }
    }

    private async Task DeliverAsync(SpikeJob job, string connectionString, CancellationToken ct)
    {
        var delivery = _recorder.Attempt(job);
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
                Redeliver(job, delivery);
                return;
            }
            await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await SpikePosting.MarkRunningAsync(conn, tx, job, ct).ConfigureAwait(false);
            var page = await CallWithImmediateRetriesAsync(job, ct).ConfigureAwait(false);
            await SpikePosting.MatchAndPostAsync(conn, tx, job, page, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            _recorder.Completed(job);
            CloseWhenAllFinished();
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // the deadline: the job is reported as lost (whatever the driver threw while being cancelled)
            return;
        }
        catch (NpgsqlException ex)
        {
            _recorder.DbError(ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : $"query: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}");
            Redeliver(job, delivery);
        }
        catch (Exception ex) when (ex is ProviderThrottledException or HttpRequestException or TimeoutException)
        {
            Redeliver(job, delivery);
        }
        catch (ObjectDisposedException ex)
        {
            // Npgsql under a connection storm: a connector broken by the server is disposed under the command using it
            _recorder.DbError($"driver: {ex.GetType().Name}");
            Redeliver(job, delivery);
        }
    }

    private void CloseWhenAllFinished()
    {
        if (_recorder.Finished >= _recorder.Jobs.Count)
        {
            _fifo.Writer.TryComplete();
        }
    }

    private void Redeliver(SpikeJob job, int delivery)
    {
        if (delivery >= MaxDeliveries)
        {
            _recorder.Failed(job);
            CloseWhenAllFinished();
        }
        else
        {
            _fifo.Writer.TryWrite(job);
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
}
