using System.Text.Json;

namespace Recon.Tests.Ingestion.Statements;

/// <summary>The copied corpus in the test output directory and its expected.json facts.</summary>
internal static class CorpusFiles
{
    public static string Folder(string format) => Path.Combine(AppContext.BaseDirectory, "TestData", "bank-statements", format);

    public static IEnumerable<object[]> Names(string format)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(format), "expected.json")));
        return doc.RootElement.EnumerateArray().Select(e => new object[] { e.GetProperty("file").GetString()! }).ToList();
    }

    public static (string Text, JsonElement Expected) Load(string format, string file)
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(format), "expected.json")));
        var expected = doc.RootElement.EnumerateArray().Single(e => e.GetProperty("file").GetString() == file).Clone();
        return (File.ReadAllText(Path.Combine(Folder(format), file)), expected);
    }

    public static long? Long(this JsonElement e, string name)
        => e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt64() : null;

    public static string? Str(this JsonElement e, string name)
        => e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    public static DateOnly? Date(this JsonElement e, string name)
        => e.Str(name) is { } s ? DateOnly.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;
}
