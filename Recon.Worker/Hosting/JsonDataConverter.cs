using DurableTask.Core.Serializing;

namespace Recon.Worker.Hosting;

/// <summary>
/// Lets <see cref="DurableTask.Core.TaskHubClient"/> write inputs and read outputs with the same System.Text.Json
/// settings the shims use, so an orchestration's input started here round-trips into its typed parameter.
/// </summary>
internal sealed class SystemTextJsonDataConverter(Microsoft.DurableTask.DataConverter inner) : DataConverter
{
    public override string? Serialize(object? value) => inner.Serialize(value);

    public override string? Serialize(object? value, bool formatted) => inner.Serialize(value);

    public override object? Deserialize(string? data, Type objectType) => inner.Deserialize(data, objectType);
}
