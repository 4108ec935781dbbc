using Microsoft.DurableTask;
using Moq;

namespace Recon.Tests.Pipeline;

/// <summary>
/// A Moq <see cref="TaskOrchestrationContext"/> (the one seam that cannot run here without a backend): activities answer
/// from handlers the test gives, every call is recorded in order, and timers move the orchestration clock.
/// </summary>
internal sealed class FakeOrchestrationContext
{
    private readonly Dictionary<string, Func<object?, Task<object?>>> _handlers = new(StringComparer.Ordinal);

    public FakeOrchestrationContext(DateTime start)
    {
        Now = start;
        Mock = new Mock<TaskOrchestrationContext>(MockBehavior.Loose) { CallBase = true };
        Mock.SetupGet(c => c.CurrentUtcDateTime).Returns(() => Now);
        Mock.SetupGet(c => c.InstanceId).Returns("test-instance");
        Mock.Setup(c => c.CreateTimer(It.IsAny<DateTime>(), It.IsAny<CancellationToken>()))
            .Returns((DateTime fireAt, CancellationToken token) =>
            {
                if (token.CanBeCanceled)
                {
                    // the window timer: the test decides when it fires
                    WindowFireAt = fireAt;
                    token.Register(() => Window.TrySetCanceled());
                    return Window.Task;
                }
                Timers.Add(fireAt - Now);
                Now = fireAt > Now ? fireAt : Now;
                return Task.CompletedTask;
            });
        Mock.Setup(c => c.ContinueAsNew(It.IsAny<object?>(), It.IsAny<bool>()))
            .Callback((object? input, bool preserve) =>
            {
                ContinuedWith = input;
                PreservedEvents = preserve;
            });
        Mock.Setup(c => c.WaitForExternalEvent<string>(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Returns((string name, CancellationToken _) =>
            {
                AwaitedEvents.Add(name);
                return Event.Task;
            });
    }

    /// <summary>The external event the orchestration waits for: the test raises it (or never does).</summary>
    public TaskCompletionSource<string> Event { get; } = new(TaskCreationOptions.None);

    public List<string> AwaitedEvents { get; } = [];

    public bool? PreservedEvents { get; private set; }

    public Mock<TaskOrchestrationContext> Mock { get; }

    public TaskOrchestrationContext Object => Mock.Object;

    public DateTime Now { get; set; }

    public TaskCompletionSource Window { get; } = new(TaskCreationOptions.None);

    public DateTime? WindowFireAt { get; private set; }

    public List<TimeSpan> Timers { get; } = [];

    public List<(string Name, object? Input)> Calls { get; } = [];

    public object? ContinuedWith { get; private set; }

    public IEnumerable<string> CallNames => Calls.Select(c => c.Name);

    public IEnumerable<T> InputsOf<T>(string name) => Calls.Where(c => c.Name == name).Select(c => (T)c.Input!);

    /// <summary>Answers calls of activity <paramref name="name"/> with <paramref name="handler"/>.</summary>
    public FakeOrchestrationContext On<TResult>(string name, Func<object?, Task<TResult>> handler)
    {
        _handlers[name] = async input => await handler(input);
        Mock.Setup(c => c.CallActivityAsync<TResult>(It.Is<TaskName>(n => n.Name == name), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns((TaskName n, object? input, TaskOptions? _) =>
            {
                Calls.Add((n.Name, input));
                return Invoke<TResult>(n.Name, input);
            });
        return this;
    }

    public FakeOrchestrationContext On<TResult>(string name, Func<object?, TResult> handler) => On(name, input => Task.FromResult(handler(input)));

    private async Task<TResult> Invoke<TResult>(string name, object? input) => (TResult)(await _handlers[name](input))!;

    /// <summary>What a failed activity looks like to an orchestrator.</summary>
    public static TaskFailedException Failure(string activity, Exception cause)
        => new(activity, 1, new TaskFailureDetails(cause.GetType().FullName!, cause.Message, null, null, null));
}
