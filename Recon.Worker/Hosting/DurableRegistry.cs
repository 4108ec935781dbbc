using Microsoft.DurableTask;

namespace Recon.Worker.Hosting;

/// <summary>The class-based orchestrators and activities this worker runs, by name (the class name, as Functions names them).</summary>
public sealed class DurableRegistry
{
    private readonly Dictionary<string, Type> _orchestrators = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Type> _activities = new(StringComparer.Ordinal);

    public DurableRegistry AddOrchestrator<T>() where T : class, ITaskOrchestrator => AddOrchestrator(typeof(T));

    public DurableRegistry AddOrchestrator(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!typeof(ITaskOrchestrator).IsAssignableFrom(type))
        {
            throw new ArgumentException($"{type.FullName} is not an ITaskOrchestrator.", nameof(type));
        }
        _orchestrators.Add(type.Name, type);
        return this;
    }

    public DurableRegistry AddActivity<T>() where T : class, ITaskActivity => AddActivity(typeof(T));

    public DurableRegistry AddActivity(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!typeof(ITaskActivity).IsAssignableFrom(type))
        {
            throw new ArgumentException($"{type.FullName} is not an ITaskActivity.", nameof(type));
        }
        _activities.Add(type.Name, type);
        return this;
    }

    public IReadOnlyDictionary<string, Type> Orchestrators => _orchestrators;

    public IReadOnlyDictionary<string, Type> Activities => _activities;
}
