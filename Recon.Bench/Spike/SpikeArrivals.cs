using System.Globalization;
using Azure;
using Recon.Core.Domain;
using Recon.Core.Queues;

namespace Recon.Bench.Spike;

/// <summary>The arrival side of both modes: at each job's arrival time, its message goes onto a real Azurite queue (the naive mode's FIFO, the product's recon-ingest).</summary>
public static class SpikeArrivals
{
    /// <summary>A send that fails (Azurite busy) is tried this often before the job is counted as failed: a message
    /// that never reached the queue is never silently lost.</summary>
    private const int MaxSendAttempts = 5;

    /// <summary>The naive mode's batch message of <paramref name="job"/>: its one Stripe page (the job's day), priority 0
    /// for high value, 5 for the rest.</summary>
    public static BatchMessage Message(SpikeJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var day = SandboxStripeHost.DayOf(job);
        return new BatchMessage(job.BatchId, Providers.Stripe, SandboxStripeHost.ProviderAccount, day, day,
            null, SandboxStripeHost.PageSize, job.High ? 0 : 5, job.ValueMinor, "USD", DateTimeOffset.UtcNow,
            string.Create(CultureInfo.InvariantCulture, $"spike-{job.Endpoint}"), job.Index);
    }

    /// <summary>Runs the arrival schedule: each job is recorded as arrived at its time and its send starts then, without
    /// waiting for earlier sends (a slow queue call must not delay later arrivals). Returns when every send settled.</summary>
    public static async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, Func<SpikeJob, CancellationToken, Task> send, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(send);
        var sends = new List<Task>(jobs.Count);
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
                    break;
                }
            }
            recorder.Arrived(job);
            sends.Add(SendAsync(job, recorder, send, ct));
        }
        await Task.WhenAll(sends).ConfigureAwait(false);
    }

    /// <summary>Sends one job's message, tried up to <see cref="MaxSendAttempts"/> times; a send that gives up fails
    /// the job (it is never silently lost).</summary>
    private static async Task SendAsync(SpikeJob job, SpikeRecorder recorder, Func<SpikeJob, CancellationToken, Task> send, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await send(job, ct).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // the deadline: reported as lost
                return;
            }
            catch (Exception ex) when (IsQueueFailure(ex, ct))
            {
                if (attempt >= MaxSendAttempts)
                {
                    recorder.Failed(job);
                    return;
                }
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>A storage-queue call that failed rather than being cancelled by the run: an error answer, a network
    /// failure, or the SDK's own timeout (its retries give up with an <see cref="AggregateException"/>).</summary>
    public static bool IsQueueFailure(Exception ex, CancellationToken ct)
        => ex is RequestFailedException or HttpRequestException or AggregateException || (ex is OperationCanceledException && !ct.IsCancellationRequested);

    /// <summary>The bench's queue clients: the pipeline's own (a network timeout of 10 s: the SDK's 100 s would let one
    /// stuck call outlive a phase of the run; three retries).</summary>
    public static Azure.Storage.Queues.QueueClientOptions QueueOptions() => Recon.Core.Queues.QueueClients.Options();
}
