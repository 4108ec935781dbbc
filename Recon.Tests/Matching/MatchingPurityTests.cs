namespace Recon.Tests.Matching;

public sealed class MatchingPurityTests
{
    // Recon.Core as a whole references Npgsql, so the assembly cannot be checked; the folder's sources can.
    private static readonly string[] Forbidden =
    [
        "using Npgsql", "using StackExchange", "using System.Net", "DateTime.Now", "DateTime.UtcNow", "DateTimeOffset.Now",
        "DateTimeOffset.UtcNow", "Stopwatch", "File.", "Directory.", "Environment.", "Console.", "HttpClient", "double ", "float ", "decimal ",
    ];

    [Fact]
    public void MatchingFolder_Sources_TouchNoIoNoClockAndNoFloatingPointMoneyOutsideTheGenerator()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Recon.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        var files = Directory.GetFiles(Path.Combine(dir!.FullName, "Recon.Core", "Matching"), "*.cs");
        Assert.NotEmpty(files);

        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            // the generator draws log-normal amounts with doubles and rounds them once to long minor units;
            // the evaluation's precision and recall are ratios, not money
            var allowed = Path.GetFileName(file) is "MatchScenarioGenerator.cs" or "MatchEvaluation.cs" ? new[] { "double " } : [];
            foreach (var word in Forbidden.Except(allowed))
            {
                Assert.False(text.Contains(word, StringComparison.Ordinal), $"{Path.GetFileName(file)} contains '{word}'");
            }
        }
    }
}
