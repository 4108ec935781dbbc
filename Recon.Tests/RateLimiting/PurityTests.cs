namespace Recon.Tests.RateLimiting;

/// <summary>The token-bucket arithmetic and the priority policy stay pure: no Redis, storage, database or clock.</summary>
public sealed class PurityTests
{
    [Theory]
    [InlineData("Recon.Core/RateLimiting")]
    [InlineData("Recon.Core/Priority")]
    public void PureFolders_DoNotTouchIoOrTheClock(string folder)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Recon.sln")))
        {
            root = root.Parent;
        }
        Assert.NotNull(root);
        // top level only: RateLimiting/Redis is the adapter
        var files = Directory.GetFiles(Path.Combine(root.FullName, folder), "*.cs", SearchOption.TopDirectoryOnly);
        Assert.NotEmpty(files);
        string[] forbidden = ["StackExchange.Redis", "Azure.", "Npgsql", "DateTime.Now", "DateTime.UtcNow", "DateTimeOffset.UtcNow", "Stopwatch", "HttpClient"];
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            foreach (var word in forbidden)
            {
                Assert.False(text.Contains(word, StringComparison.Ordinal), $"{Path.GetFileName(file)} uses {word}");
            }
        }
    }
}
