using Microsoft.DurableTask;

namespace Recon.Core.Pipeline;

/// <summary>
/// The eternal dispatcher: each round (<see cref="DispatchBatchesActivity"/>) pulls batches (high first) into the free
/// in-flight slots and takes their tokens; the dispatcher then runs each batch as one <see cref="RunBatchActivity"/> —
/// fetch, match, post and status in one idempotent unit — without waiting for them all: the next round starts as soon as
/// any of its batches ends, new work is signalled (<see cref="WorkEvent"/>), or (with none of its own in flight) a second
/// has passed. With no work at all it waits for the signal (at most <see cref="DispatcherSettings.IdleWaitSeconds"/>).
/// </summary>
/// <remarks>
/// One execution runs several rounds and continues as new after <see cref="MaxRoundsPerExecution"/> rounds or
/// <see cref="MaxBatchesPerExecution"/> batches, so its history stays a few hundred events. It never continues as new in
/// the episode that scheduled batches: the Durable Task Framework drops the activity messages of a ContinueAsNew episode
/// (TaskOrchestrationDispatcher sends no messagesToSend when continuedAsNew). Batches still running when it continues
/// are not lost: they finish on their own, their rows say they are in flight, and only their completion messages (for
/// an execution that has ended) are discarded. Low batches may never take the last
/// <see cref="DispatcherSettings.ReservedForHigh"/> slots, so a high batch never waits behind a round of slow low ones.
/// </remarks>
public sealed class DispatcherOrchestrator : TaskOrchestrator<DispatcherState, long>
{
    /// <summary>The one dispatcher instance per task hub.</summary>
    public const string InstanceId = "recon-dispatcher";

    /// <summary>The external event every enqueue raises, so an idle dispatcher starts at once instead of polling.</summary>
    public const string WorkEvent = "work";

    /// <summary>Rounds per execution before it continues as new (two history events each).</summary>
    public const int MaxRoundsPerExecution = 50;

    /// <summary>Batches per execution before it continues as new (two history events each): with the rounds, at most
    /// ~300 events to replay per episode.</summary>
    public const int MaxBatchesPerExecution = 100;

    public override async Task<long> RunAsync(TaskOrchestrationContext context, DispatcherState input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var state = input ?? new DispatcherState(new DispatcherSettings().BaseInFlight, new DispatcherSettings());
        var running = new List<Task<BatchOutcome>>();
        Task<string>? work = null;
        Task? poll = null;
        var scheduled = 0;
        for (var round = 0; ; round++)
        {
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

            state = state with
            {
                MaxInFlight = ConcurrencyScaler.Next(state.MaxInFlight, result.Queued, state.Settings),
                Rounds = state.Rounds + 1,
                Dispatched = state.Dispatched + result.Started,
            };
            foreach (var batch in result.ToRun ?? [])
            {
                running.Add(context.CallActivityAsync<BatchOutcome>(nameof(RunBatchActivity), batch));
                scheduled++;
            }

            if (result.Idle)
            {
                // Nothing queued, in flight or unfinished: wait for an enqueue's "work" signal rather than poll (a round a
                // second kept the worker and the storage service busy forever, and on Azure billed executions around the
                // clock). Bounded, so the dispatcher still checkpoints well inside the watch's stalled period and looks
                // for stranded work once more. A signal that arrived during this round is already buffered: the wait
                // returns at once. Events that arrive after the wait are carried into the next execution.
                var waitSeconds = Math.Clamp(state.Settings.IdleWaitSeconds, 1, Math.Max(1, state.Settings.StalledAfterSeconds / 2));
                using var timeout = new CancellationTokenSource();
                var timer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(waitSeconds), timeout.Token);
                work ??= context.WaitForExternalEvent<string>(WorkEvent);
                if (await Task.WhenAny(work, timer) == work)
                {
                    // synchronous: CancelAsync would run the timer's cancellation on another thread, outside the
                    // orchestration's single-threaded episode (seen: the DTFx shim never finished the episode)
#pragma warning disable CA1849
                    timeout.Cancel();
#pragma warning restore CA1849
                    state = state with { WokenByWork = state.WokenByWork + 1 };
                }
                else
                {
                    state = state with { WokenByTimer = state.WokenByTimer + 1 };
                }
                context.ContinueAsNew(state, preserveUnprocessedEvents: true);
                return state.Rounds;
            }

            // Wait for the first of: a batch of this execution ending (a slot is free), new work signalled, or — with none
            // of its own batches left to wake it (the rest run from an earlier execution, or the queues wait for slots) —
            // one whole-second timer. Each is kept across rounds until it fires, so no round adds a second waiter.
            running.RemoveAll(t => t.IsCompleted);
            work ??= context.WaitForExternalEvent<string>(WorkEvent);
            if (running.Count == 0)
            {
                poll ??= context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(Math.Max(1, state.Settings.IdlePollSeconds)), CancellationToken.None);
            }
            var wakers = new List<Task>(running.Count + 2) { work };
            wakers.AddRange(running);
            if (poll is not null)
            {
                wakers.Add(poll);
            }
            var woke = await Task.WhenAny(wakers);
            if (woke == work)
            {
                work = null;
            }
            if (poll is { IsCompleted: true })
            {
                poll = null;
            }

            if (round + 1 >= MaxRoundsPerExecution || scheduled >= MaxBatchesPerExecution)
            {
                // this episode schedules nothing, so continuing as new loses no activity message (see remarks)
                context.ContinueAsNew(state, preserveUnprocessedEvents: false);
                return state.Rounds;
            }
        }
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
