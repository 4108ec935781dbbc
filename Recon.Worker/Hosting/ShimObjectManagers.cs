using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;

namespace Recon.Worker.Hosting;

/// <summary>
/// Hands DTFx a fresh shim around a fresh orchestrator object per work item, so no state leaks between instances.
/// </summary>
internal sealed class ShimOrchestrationManager(DurableRegistry registry, DurableTaskShimFactory factory, IServiceProvider services)
    : INameVersionObjectManager<TaskOrchestration>
{
    public void Add(ObjectCreator<TaskOrchestration> creator)
        => throw new NotSupportedException("Orchestrators are registered through DurableRegistry.");

    public TaskOrchestration? GetObject(string name, string? version)
    {
        if (!registry.Orchestrators.TryGetValue(name, out var type))
        {
            return null;
        }
        // orchestrators are deterministic code without dependencies; building them from the root provider is safe
        var orchestrator = (ITaskOrchestrator)ActivatorUtilities.CreateInstance(services, type);
        // Recon starts no sub-orchestrations, so no parent is needed (DURABLE-NOTES: GetObject cannot see it)
        return factory.CreateOrchestration(new TaskName(name), orchestrator, parent: null);
    }
}

/// <summary>Builds every activity execution in its own DI scope, as the Functions host does.</summary>
internal sealed class ShimActivityManager(DurableRegistry registry, DurableTaskShimFactory factory, IServiceProvider services)
    : INameVersionObjectManager<TaskActivity>
{
    public void Add(ObjectCreator<TaskActivity> creator)
        => throw new NotSupportedException("Activities are registered through DurableRegistry.");

    public TaskActivity? GetObject(string name, string? version)
        => registry.Activities.TryGetValue(name, out var type) ? new ScopedActivity(name, type, factory, services) : null;

    private sealed class ScopedActivity(string name, Type type, DurableTaskShimFactory factory, IServiceProvider services) : TaskActivity
    {
        public override string Run(TaskContext context, string input)
            => throw new NotSupportedException("Activities run asynchronously.");

        public override async Task<string> RunAsync(TaskContext context, string input)
        {
            await using var scope = services.CreateAsyncScope();
            var activity = (ITaskActivity)ActivatorUtilities.CreateInstance(scope.ServiceProvider, type);
            var shim = factory.CreateActivity(new TaskName(name), activity);
            return await shim.RunAsync(context, input).ConfigureAwait(false);
        }
    }
}
