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
public sealed class NaiveMode(SpikeDatabase database, ISpikeProvider provider, SpikeRecorder recorder)
{
    /// <summary>A storage-queue trigger's default maxDequeueCount: after five deliveries the message is poisoned.</summary>
    public const int MaxDeliveries = 5;

    /// <summary>Immediate client retries on a 429, as a typical SDK wrapper does them (bounded, no wait).</summary>
    public const int ImmediateRetries = 3;

    /// <summary>How long a naive worker waits to connect before it counts a failure (Npgsql's default is 15 s).</summary>
    private const int ConnectTimeoutSeconds = 15;

    private readonly Channel<SpikeJob> _fifo = Channel.CreateUnbounded<SpikeJob>(new UnboundedChannelOptions { SingleReader = true });

    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
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
            while (recorder.Finished < jobs.Count)
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
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(running.Append(arrivals)).ConfigureAwait(false);
    }

    private async Task ArriveAsync(IReadOnlyList<SpikeJob> jobs, CancellationToken ct)
    {
        foreach (var job in jobs)
        {
            var wait = job.ArrivalSeconds - recorder.Now;
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
            recorder.Arrived(job);
            _fifo.Writer.TryWrite(job);
        }
    }

    private async Task DeliverAsync(SpikeJob job, string connectionString, CancellationToken ct)
    {
        var delivery = recorder.Attempt(job);
        try
        {
            using var demand = recorder.ClientConnection();
            await using var conn = new NpgsqlConnection(connectionString);
            try
            {
                await conn.OpenAsync(ct).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!ct.IsCancellationRequested)
            {
                // 53300 "sorry, too many clients already" is the one the story is about
                recorder.DbError(ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : $"connect: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}");
                Redeliver(job, delivery);
                return;
            }
            await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await SpikePosting.MarkRunningAsync(conn, tx, job, ct).ConfigureAwait(false);
            var page = await CallWithImmediateRetriesAsync(job, ct).ConfigureAwait(false);
            await SpikePosting.MatchAndPostAsync(conn, tx, job, page, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            recorder.Completed(job);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        catch (NpgsqlException ex)
        {
            recorder.DbError(ex is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : $"query: {ex.InnerException?.GetType().Name ?? ex.GetType().Name}");
            Redeliver(job, delivery);
        }
        catch (Exception ex) when (ex is ProviderThrottledException or HttpRequestException or TimeoutException)
        {
            Redeliver(job, delivery);
        }
    }

    private void Redeliver(SpikeJob job, int delivery)
    {
        if (delivery >= MaxDeliveries)
        {
            recorder.Failed(job);
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
                recorder.ProviderAnswered(throttled: false);
                return page;
            }
            catch (ProviderThrottledException)
            {
                recorder.ProviderAnswered(throttled: true);
                if (attempt >= ImmediateRetries)
                {
                    throw;
                }
            }
        }
    }
}
