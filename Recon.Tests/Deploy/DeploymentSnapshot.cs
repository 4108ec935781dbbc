using System.Text.Json;

namespace Recon.Tests.Deploy;

/// <summary>The predicted resources of one parameters file, plus the parameter values in effect.</summary>
public sealed class DeploymentSnapshot(string paramFile, JsonDocument document, IReadOnlyDictionary<string, JsonElement> parameters)
{
    public string ParamFile { get; } = paramFile;

    public JsonDocument Document { get; } = document;

    public IReadOnlyDictionary<string, JsonElement> Parameters { get; } = parameters;

    public IEnumerable<JsonElement> Resources => Document.RootElement.GetProperty("predictedResources").EnumerateArray();

    public IReadOnlyList<JsonElement> OfType(string type)
        => Resources.Where(r => string.Equals(r.GetProperty("type").GetString(), type, StringComparison.OrdinalIgnoreCase)).ToList();

    public JsonElement Single(string type)
    {
        var found = OfType(type);
        return found.Count == 1 ? found[0] : throw new InvalidOperationException($"{ParamFile}: expected one {type}, found {found.Count}");
    }

    /// <summary>Last segment of the resource name ("server/pgbouncer.enabled" gives "pgbouncer.enabled").</summary>
    public static string ShortName(JsonElement resource) => resource.GetProperty("name").GetString()!.Split('/')[^1];

    /// <summary>The Function App's app settings (Microsoft.Web/sites/config "appsettings").</summary>
    public IReadOnlyDictionary<string, string> AppSettings()
    {
        var config = OfType("Microsoft.Web/sites/config").Single(c => ShortName(c) == "appsettings");
        return config.GetProperty("properties").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.Ordinal);
    }

    public bool BoolParameter(string name)
        => Parameters.TryGetValue(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : throw new InvalidOperationException($"{ParamFile}: parameter {name} has no boolean value");

    /// <summary>A string parameter's value; empty when it has none (a string parameter without default or value).</summary>
    public string StringParameter(string name)
        => Parameters.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    /// <summary>The app's user-assigned identity (the deployment has exactly one).</summary>
    public JsonElement Identity => Single("Microsoft.ManagedIdentity/userAssignedIdentities");

    public int IntParameter(string name)
        => Parameters.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetInt32()
            : throw new InvalidOperationException($"{ParamFile}: parameter {name} has no integer value");
}
