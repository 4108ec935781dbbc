using Microsoft.DurableTask;

namespace Recon.Core.Pipeline;

/// <summary>
/// The eternal dispatcher: each round pulls batches (high first) into the free in-flight slots and starts one
/// ReconcileBatch per batch, then continues as new, so its history never holds more than one round. With no work at all
/// it waits for an enqueue's <see cref="WorkEvent"/> (at most <see cref="DispatcherSettings.IdleWaitSeconds"/>) instead
/// of polling.
/// </summary>
/// <remarks>
/// It does not wait for the batches it starts (no fan-in): a slot frees the moment any batch ends, and the next
/// round fills it high-first. Low batches may never take the last <see cref="DispatcherSettings.ReservedForHigh"/>
/// slots, so a high batch never waits behind a round of slow low ones — at most one poll interval.
/// </remarks>
public sealed class DispatcherOrchestrator : TaskOrchestrator<DispatcherState, long>
{
    /// <summary>The one dispatcher instance per task hub.</summary>
    public const string InstanceId = "recon-dispatcher";

    /// <summary>The external event every enqueue raises, so an idle dispatcher starts at once instead of polling.</summary>
    public const string WorkEvent = "work";

    public override async Task<long> RunAsync(TaskOrchestrationContext context, DispatcherState input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var state = input ?? new DispatcherState(new DispatcherSettings().BaseInFlight, new DispatcherSettings());
        DispatchResult result;
        try
        {
            result = await context.CallActivityAsync<DispatchResult>(nameof(DispatchBatchesActivity),
                new DispatchRequest(state.MaxInFlight, Math.Min(state.Settings.ReservedForHigh, state.MaxInFlight - 1),
                    state.Settings.StrandedAfterSeconds, state.Settings.StalledAfterSeconds, state.Settings.MaxRevivals));
        }
        catch (TaskFailedException ex)
        {
            // A round that fails (storage timeout, database restart) must not end the one dispatcher: every batch queued
            // after that would wait for a restart. Back off, remember the error for status, and poll again; the
            // messages the round had leased come back when their lease ends.
            var failed = state with
            {
                Rounds = state.Rounds + 1,
                FailedRounds = state.FailedRounds + 1,
                LastError = Truncate(ex.FailureDetails.ErrorMessage),
            };
            await context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(Math.Max(1, state.Settings.FailedRoundBackoffSeconds)), CancellationToken.None);
            context.ContinueAsNew(failed, preserveUnprocessedEvents: false);
            return failed.Rounds;
        }

        var next = state with { MaxInFlight = ConcurrencyScaler.Next(state.MaxInFlight, result.Queued, state.Settings), Rounds = state.Rounds + 1 };
        if (result.Idle)
        {
            // Nothing to do: wait for an enqueue's "work" signal rather than poll (a round a second kept the worker and the
            // storage service busy forever, and on Azure billed executions around the clock). The wait is bounded so the
            // dispatcher still checkpoints well inside the watch's stalled period, and the round after it looks for
            // stranded work once more. A signal that arrived during this round is already buffered: the wait returns at
            // once. Events that arrive after the wait are carried into the next execution.
            var waitSeconds = Math.Clamp(state.Settings.IdleWaitSeconds, 1, Math.Max(1, state.Settings.StalledAfterSeconds / 2));
            using var timeout = new CancellationTokenSource();
            var timer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(waitSeconds), timeout.Token);
            var work = context.WaitForExternalEvent<string>(WorkEvent);
            if (await Task.WhenAny(work, timer) == work)
            {
                // synchronous: CancelAsync would run the timer's cancellation on another thread, outside the orchestration's
                // single-threaded episode (seen: the DTFx shim never finished the episode)
#pragma warning disable CA1849
                timeout.Cancel();
#pragma warning restore CA1849
                next = next with { WokenByWork = next.WokenByWork + 1 };
            }
            else
            {
                next = next with { WokenByTimer = next.WokenByTimer + 1 };
            }
            context.ContinueAsNew(next, preserveUnprocessedEvents: true);
            return next.Rounds;
        }
        var inFlight = result.InFlightHigh + result.InFlightLow;
        // Go straight on while it is making progress with slots to spare; otherwise poll again after a whole second.
        // Signals that arrive meanwhile are not carried over (they would be re-sent with every execution): the next round
        // polls anyway, and any enqueue that signalled happened before it.
        var busy = result.Started > 0 && result.Queued > 0 && inFlight < state.MaxInFlight;
        if (!busy)
        {
            await context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(Math.Max(1, state.Settings.IdlePollSeconds)), CancellationToken.None);
        }
        context.ContinueAsNew(next, preserveUnprocessedEvents: false);
        return next.Rounds;
    }

    private static string Truncate(string message) => message.Length <= 500 ? message : message[..500];
}

/// <summary>Scales the in-flight cap with queue depth, with hysteresis (pure).</summary>
public static class ConcurrencyScaler
{
    /// <summary>Doubles the cap while more than <see cref="DispatcherSettings.ScaleUpQueued"/> are queued (up to
    /// <see cref="DispatcherSettings.MaxInFlight"/>), halves it once fewer than <see cref="DispatcherSettings.ScaleDownQueued"/>
    /// are (down to <see cref="DispatcherSettings.BaseInFlight"/>), and keeps it in between.</summary>
    public static int Next(int current, long queued, DispatcherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var floor = Math.Max(1, settings.BaseInFlight);
        var ceiling = Math.Max(floor, settings.MaxInFlight);
        current = Math.Clamp(current, floor, ceiling);
        if (queued > settings.ScaleUpQueued)
        {
            return Math.Min(ceiling, current * 2);
        }
        if (queued < settings.ScaleDownQueued)
        {
            return Math.Max(floor, current / 2);
        }
        return current;
    }
}
