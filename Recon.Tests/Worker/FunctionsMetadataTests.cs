using System.Text.Json;

namespace Recon.Tests.Worker;

/// <summary>The Functions app cannot run here (no host); its build output must still list every trigger.</summary>
public sealed class FunctionsMetadataTests
{
    [Fact]
    public void Build_FunctionsMetadata_ListsEveryPipelineTrigger()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Recon.sln")))
        {
            root = root.Parent;
        }
        Assert.NotNull(root);
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // Release or Debug
        var file = Path.Combine(root.FullName, "Recon.Functions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(file), $"{file} is missing: build Recon.Functions first (./recon test builds the solution)");

        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var triggers = doc.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().Select(b => b.GetProperty("type").GetString()!).First(t => t.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase)));

        Assert.Equal("httpTrigger", triggers["StartReconciliation"]);
        Assert.Equal("httpTrigger", triggers["GetReconciliation"]);
        Assert.Equal("queueTrigger", triggers["IngestFromQueue"]);
        foreach (var orchestrator in new[] { "DispatcherOrchestrator" })
        {
            Assert.Equal("orchestrationTrigger", triggers[orchestrator]);
        }
        // the web page loads without a key (it holds no data); every data call, reads included, needs one
        var auth = doc.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().Where(b => b.GetProperty("type").GetString() == "httpTrigger")
                .Select(b => b.TryGetProperty("authLevel", out var a) ? a.GetString() : null).FirstOrDefault());
        Assert.Equal("Anonymous", auth["WebPage"], ignoreCase: true);
        Assert.Equal("ui/{file?}", doc.RootElement.EnumerateArray().Single(f => f.GetProperty("name").GetString() == "WebPage")
            .GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger").GetProperty("route").GetString());
        foreach (var (name, level) in auth.Where(a => a.Value is not null && a.Key is not "WebPage" and not nameof(Recon.Functions.HealthFunction)))
        {
            Assert.True(string.Equals(level, "Function", StringComparison.OrdinalIgnoreCase), $"{name} is {level}: every data call needs a function key");
        }
        Assert.Contains("ListRuns", auth.Keys);
        Assert.Contains("RunReport", auth.Keys);
        foreach (var activity in Recon.Worker.PipelineRegistry.Create().Activities.Keys)
        {
            Assert.Equal("activityTrigger", triggers[activity]);
        }
    }
}
