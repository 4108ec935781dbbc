using System.Text.Json;
using System.Text.RegularExpressions;

namespace Recon.Tests.Deploy;

/// <summary>azure.yaml, the azd parameters file and azure-pipelines.yml agree with the template and the repository.</summary>
public sealed partial class RepositoryDeployFilesTests(BicepWorkspace workspace) : IClassFixture<BicepWorkspace>
{
    private static string Root => BicepWorkspace.RepositoryRoot;

    [Fact]
    public void AzureYaml_FunctionsService_PointsAtRecon_FunctionsAndTheBicepModule()
    {
        var yaml = File.ReadAllText(Path.Combine(Root, "azure.yaml"));
        Assert.Matches(@"(?m)^infra:\s*\n(\s+.*\n)*?\s+path: bicep\s*$", yaml);
        Assert.Matches(@"(?m)^\s+module: main\s*$", yaml);
        Assert.Matches(@"(?m)^  functions:\s*\n    project: \./Recon\.Functions\s*\n    language: dotnet\s*\n    host: function\s*$", yaml);
        Assert.True(File.Exists(Path.Combine(Root, "Recon.Functions", "Recon.Functions.csproj")));
        Assert.True(File.Exists(Path.Combine(Root, "bicep", "main.bicep")));
    }

    [Fact]
    public void AzdParameters_CoverEveryRequiredParameterAndNameOnlyDeclaredOnes()
    {
        using var given = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "bicep", "main.parameters.json")));
        var givenNames = given.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToHashSet();
        var declared = workspace.CompiledTemplate().RootElement.GetProperty("parameters").EnumerateObject().ToList();
        var required = declared.Where(p => !p.Value.TryGetProperty("defaultValue", out _)).Select(p => p.Name).ToList();
        // each environment decides on private networking; nothing asks for a database password any more
        Assert.Contains("privateNetworking", required);
        Assert.DoesNotContain(declared, d => d.Name.StartsWith("postgresAdmin", StringComparison.Ordinal));
        Assert.All(required, r => Assert.Contains(r, givenNames));
        Assert.All(givenNames, g => Assert.Contains(g, declared.Select(d => d.Name)));
    }

    [Fact]
    public void DeployFiles_AskForNoDatabasePassword()
    {
        // PostgreSQL takes Entra sign-ins only: a POSTGRES_ADMIN_PASSWORD anywhere would be a secret with no use
        var files = new[] { "azure.yaml", "azure-pipelines.yml" }.Select(f => Path.Combine(Root, f))
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "deploy", "azure-pipelines")))
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "bicep"), "*", SearchOption.AllDirectories));
        foreach (var file in files)
        {
            Assert.DoesNotContain("POSTGRES_ADMIN_PASSWORD", File.ReadAllText(file), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Pipeline_RunsTheReadmeTestCommandAndTheTestedBicepVersion()
    {
        var pipeline = File.ReadAllText(Path.Combine(Root, "azure-pipelines.yml"));
        Assert.Contains("- script: ./recon test", pipeline, StringComparison.Ordinal);
        Assert.Contains("./recon test", File.ReadAllText(Path.Combine(Root, "README.md")), StringComparison.Ordinal);
        var packages = File.ReadAllText(Path.Combine(Root, "Directory.Packages.props"));
        var tested = BicepPackageVersion().Match(packages).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(tested));
        Assert.Contains($"bicepVersion: {tested}", pipeline, StringComparison.Ordinal);
        // prod only after dev, and both only from main
        Assert.Contains("dependsOn: DeployDev", pipeline, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(pipeline, Regex.Escape("eq(variables['Build.SourceBranch'], 'refs/heads/main')")).Count);
    }

    [GeneratedRegex("Include=\"Azure\\.Bicep\\.CommandLine\\.linux-x64\" Version=\"([0-9.]+)\"")]
    private static partial Regex BicepPackageVersion();
}
