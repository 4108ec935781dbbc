using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Recon.Core.Ingestion;
using Recon.Core.Pipeline;

namespace Recon.Tests.Pipeline;

/// <summary>
/// The real Core orchestrators on a real Durable host, with every activity replaced by a <see cref="Scripted"/> one of the
/// same name and contract types. One table of scenarios with their expected values, run on each host Recon uses: the
/// gRPC worker SDK Functions runs (<see cref="InProcessHostTests"/>, in-memory backend) and DTFx with the shim factory
/// (Recon.Tests.Worker.DurableHostScenarioTests, Azurite). Every input an activity receives is recorded after the host
/// deserialized it and compared, field by field, with what the orchestrator built; a serialization or replay difference
/// between the hosts fails the same scenario on one of them.
/// </summary>
public static class HostScenarios
{
    /// <summary>Generous for a loaded 2-core machine; a scenario ends as soon as its orchestration does.</summary>
    public static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, Func<IHostUnderTest, Task>> Table = new(StringComparer.Ordinal)
    {
        [nameof(Dispatcher_FansOutScalesFailsAndPolls_CarriesItsStateAcrossContinueAsNew)] = Dispatcher_FansOutScalesFailsAndPolls_CarriesItsStateAcrossContinueAsNew,
    };

    public static IEnumerable<string> Names => Table.Keys;

    public static Task RunAsync(string scenario, IHostUnderTest host) => Table[scenario](host);

    /// <summary>Registers the Core orchestrator and the scripted activities with a host's registry.</summary>
    public static void Register(Action<Type> addOrchestrator, Action<Type> addActivity)
    {
        ArgumentNullException.ThrowIfNull(addOrchestrator);
        ArgumentNullException.ThrowIfNull(addActivity);
        addOrchestrator(typeof(DispatcherOrchestrator));
        foreach (var activity in typeof(Scripted).GetNestedTypes().Where(t => typeof(ITaskActivity).IsAssignableFrom(t) && !t.IsAbstract))
        {
            addActivity(activity);
        }
    }

    // ---- the batches the dispatcher hands out ----------------------------------------------------------------------

    /// <summary>A Stripe first page.</summary>
    private static readonly BatchWork StripeWork = new(
        BatchIds.For("run-1", new PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100)),
        "run-1", new PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100), 3, 12_000, "USD");

    /// <summary>The third page of a restarted Plaid chain: every optional field of <see cref="BatchWork"/> set.</summary>
    private static readonly BatchWork PlaidWork = new(
        BatchIds.For("run-p", new PageRequest("plaid", "item_1", new(2025, 2, 1), new(2025, 2, 28), "cur_5", 100), 1),
        "run-p", new PageRequest("plaid", "item_1", new(2025, 2, 1), new(2025, 2, 28), "cur_5", 100), 0, 3_000_000_000_00L, "EUR",
        Sequence: 2, ChainCursor: "cur_0", Generation: 1);

    // ---- the dispatcher ---------------------------------------------------------------------------------------------------

    private static async Task Dispatcher_FansOutScalesFailsAndPolls_CarriesItsStateAcrossContinueAsNew(IHostUnderTest host)
    {
        // The dispatcher never ends by itself. Round 1 hands out two batches (each run as one RunBatchActivity, not awaited
        // together: the first to end wakes round 2); round 2 fails, so it backs off and continues as new; round 3 finds
        // nothing queued and, with none of its own batches running, polls after a second; round 4's activity is held until
        // the test has read the state the dispatcher carried into its new execution; then the test terminates it.
        var settings = new DispatcherSettings { IdlePollSeconds = 1, FailedRoundBackoffSeconds = 1, StrandedAfterSeconds = 90, StalledAfterSeconds = 150, MaxRevivals = 3 };
        var fourthRound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        IReadOnlyList<RunBatch> handedOut = [new RunBatch(PlaidWork, TokenGranted: true), new RunBatch(StripeWork, TokenGranted: false)];
        var run = host.Book.Open(host.NewInstanceId("dispatcher"))
            .OnAsync<DispatchRequest, DispatchResult>(nameof(DispatchBatchesActivity), async (_, call) => call switch
            {
                // deep queues (1,500 > ScaleUpQueued): doubles the cap
                0 => new DispatchResult(2, 1, 0, 1, 1, 600, 900, Requeued: 2, ToRun: handedOut),
                1 => throw new InvalidOperationException("queue receive timed out"),
                // empty queues: halves the cap, polls after IdlePollSeconds
                2 => new DispatchResult(0, 0, 0, 0, 0, 0, 0, ToRun: []),
                _ => await Held(fourthRound.Task),
            })
            .On<RunBatch, BatchOutcome>(nameof(RunBatchActivity), (input, _) => new BatchOutcome(input.Work.BatchId, BatchStatuses.Done, false, false, null, null));
        var started = new DispatcherState(8, settings);
        try
        {
            await host.StartAsync(nameof(DispatcherOrchestrator), run.InstanceId, started);
            await run.WaitForCallsAsync(nameof(DispatchBatchesActivity), 4, RunLimit);

            // both batches arrived whole (every optional field, the token flag), each in its own activity
            Assert.Equal(handedOut, run.Inputs<RunBatch>(nameof(RunBatchActivity)).OrderBy(r => r.Work.Priority));
            var carried = host.Converter.Deserialize<DispatcherState>(await host.CurrentInputAsync(run.InstanceId));
            Assert.Equal(new DispatcherState(16, settings, Rounds: 2, FailedRounds: 1, LastError: "queue receive timed out", Dispatched: 2), carried);
            Assert.Equal(
                [new DispatchRequest(8, 2, 90, 150, 3), new DispatchRequest(16, 2, 90, 150, 3), new DispatchRequest(16, 2, 90, 150, 3), new DispatchRequest(8, 2, 90, 150, 3)],
                run.Inputs<DispatchRequest>(nameof(DispatchBatchesActivity)).Take(4));
            await host.TerminateAsync(run.InstanceId);
            Assert.Equal("Terminated", (await host.WaitAsync(run.InstanceId)).Status);
        }
        finally
        {
            fourthRound.TrySetResult();
        }

        static async Task<DispatchResult> Held(Task gate)
        {
            await gate;
            return new DispatchResult(0, 0, 0, 0, 0, 0, 0, ToRun: []);
        }
    }
}

/// <summary>A Durable host the scenarios run on.</summary>
public interface IHostUnderTest
{
    ScenarioBook Book { get; }

    /// <summary>The data converter the host's worker and client use (to read outputs and inputs as it wrote them).</summary>
    DataConverter Converter { get; }

    string NewInstanceId(string name);

    Task StartAsync(string orchestrator, string instanceId, object input);

    /// <summary>Waits until the instance completed, failed or was terminated (at most <see cref="HostScenarios.RunLimit"/>).</summary>
    Task<Ended> WaitAsync(string instanceId);

    /// <summary>The serialized input of the instance's current execution (after ContinueAsNew: the state it carried).</summary>
    Task<string?> CurrentInputAsync(string instanceId);

    Task TerminateAsync(string instanceId);

    async Task<Ended> RunAsync(string orchestrator, string instanceId, object input)
    {
        await StartAsync(orchestrator, instanceId, input);
        return await WaitAsync(instanceId);
    }
}

/// <summary>How an orchestration ended, in the host's own words (runtime status name, serialized output, failure).</summary>
public sealed record Ended(string Status, string? Output, string? ErrorType, string? ErrorMessage)
{
    public void AssertCompleted() => Assert.True(Status == "Completed", $"status {Status}: {ErrorType}: {ErrorMessage}");
}

/// <summary>The scripted answers and recorded calls of every scenario run on a host, by orchestration instance id.</summary>
public sealed class ScenarioBook
{
    private readonly ConcurrentDictionary<string, ScenarioRun> _runs = new(StringComparer.Ordinal);

    public ScenarioRun Open(string instanceId)
    {
        var run = new ScenarioRun(instanceId);
        Assert.True(_runs.TryAdd(instanceId, run), $"instance id {instanceId} used twice");
        return run;
    }

    internal Task<TOutput> AnswerAsync<TInput, TOutput>(TaskActivityContext context, TInput input)
    {
        var run = _runs.TryGetValue(context.InstanceId, out var r)
            ? r
            : throw new InvalidOperationException($"no scenario opened for instance {context.InstanceId}");
        return run.AnswerAsync<TInput, TOutput>(context.Name.Name, input);
    }
}

/// <summary>One orchestration's script: answers per activity (by call number) and every call received, in order.</summary>
public sealed class ScenarioRun(string instanceId)
{
    private readonly Dictionary<string, Func<object?, int, Task<object?>>> _answers = new(StringComparer.Ordinal);
    private readonly List<(string Activity, object? Input)> _calls = [];
    private readonly SemaphoreSlim _called = new(0);

    public string InstanceId { get; } = instanceId;

    public ScenarioRun On<TInput, TOutput>(string activity, Func<TInput, int, TOutput> answer)
        => OnAsync<TInput, TOutput>(activity, (input, call) => Task.FromResult(answer(input, call)));

    public ScenarioRun OnAsync<TInput, TOutput>(string activity, Func<TInput, int, Task<TOutput>> answer)
    {
        _answers[activity] = async (input, call) => await answer((TInput)input!, call);
        return this;
    }

    /// <summary>The activities called, in order.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_calls)
            {
                return _calls.Select(c => c.Activity).ToList();
            }
        }
    }

    /// <summary>The inputs <paramref name="activity"/> received, as the host deserialized them.</summary>
    public IReadOnlyList<T> Inputs<T>(string activity)
    {
        lock (_calls)
        {
            return _calls.Where(c => c.Activity == activity).Select(c => Assert.IsAssignableFrom<T>(c.Input)).ToList();
        }
    }

    public async Task WaitForCallsAsync(string activity, int count, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (Names.Count(n => n == activity) < count)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"{InstanceId}: {activity} called {Names.Count(n => n == activity)} times, not {count}, within {limit.TotalSeconds:0} s");
            await _called.WaitAsync(left);
        }
    }

    internal async Task<TOutput> AnswerAsync<TInput, TOutput>(string activity, TInput input)
    {
        int call;
        lock (_calls)
        {
            call = _calls.Count(c => c.Activity == activity);
            _calls.Add((activity, input));
        }
        _called.Release();
        var answer = _answers.TryGetValue(activity, out var a) ? a : throw new InvalidOperationException($"{InstanceId}: {activity} was not expected");
        return (TOutput)(await answer(input, call))!;
    }
}

/// <summary>
/// Stand-ins for the Core activities that need PostgreSQL, Redis or queues: the same names (the class name is the
/// activity name on both hosts) and the same input and output types, answering from the scenario's script.
/// </summary>
public static class Scripted
{
    public abstract class Activity<TInput, TOutput>(ScenarioBook book) : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => book.AnswerAsync<TInput, TOutput>(context, input);
    }

    public sealed class DispatchBatchesActivity(ScenarioBook book) : Activity<DispatchRequest, DispatchResult>(book);

    public sealed class RunBatchActivity(ScenarioBook book) : Activity<RunBatch, BatchOutcome>(book);

    /// <summary>Each stand-in with the Core activity of the same name (null when Core has none).</summary>
    public static IEnumerable<(Type Scripted, Type? Core)> Pairs()
        => typeof(Scripted).GetNestedTypes().Where(t => !t.IsAbstract && typeof(ITaskActivity).IsAssignableFrom(t))
            .Select(t => (t, typeof(Recon.Core.Pipeline.DispatchBatchesActivity).Assembly.GetType($"Recon.Core.Pipeline.{t.Name}")));
}
