using System.Diagnostics;
using System.Reflection;

namespace Recon.Tests.Functions;

/// <summary>
/// Recon.Functions ships the Durable Task SDK as several assemblies (Abstractions, Client, Worker, their gRPC halves);
/// the Functions extension asks for an older release of some than Core is built against. They must all be one release,
/// the one Core was compiled against, or the app runs Core's orchestrators on a mix nobody tested.
/// </summary>
public sealed class PackageAlignmentTests
{
    [Fact]
    public void FunctionsBuildOutput_DurableTaskAssemblies_AreOneReleaseAndTheOneCoreIsBuiltAgainst()
    {
        var output = FunctionsOutput();
        var assemblies = Directory.GetFiles(output, "Microsoft.DurableTask.*.dll")
            .Select(path => (
                Name: Path.GetFileNameWithoutExtension(path),
                Assembly: AssemblyName.GetAssemblyName(path).Version!,
                File: new Version(FileVersionInfo.GetVersionInfo(path).FileVersion!)))
            .OrderBy(a => a.Name, StringComparer.Ordinal)
            .ToList();
        var listing = string.Join("\n", assemblies.Select(a => $"{a.Name}: assembly {a.Assembly}, file {a.File}"));

        // Abstractions, Client, Client.Grpc, Grpc, Worker, Worker.Grpc at least: a shorter list means the glob or the build changed
        Assert.True(assemblies.Count >= 6, $"only {assemblies.Count} Microsoft.DurableTask assemblies in {output}:\n{listing}");
        Assert.True(assemblies.Select(a => a.Assembly).Distinct().Count() == 1, $"assembly versions differ:\n{listing}");
        // the file version's fourth part is a build number; major.minor.patch is the package release
        Assert.True(assemblies.Select(a => new Version(a.File.Major, a.File.Minor, a.File.Build)).Distinct().Count() == 1, $"file versions differ:\n{listing}");

        var coreBuiltAgainst = typeof(Core.Pipeline.DispatcherOrchestrator).Assembly.GetReferencedAssemblies()
            .Single(a => a.Name == "Microsoft.DurableTask.Abstractions").Version;
        Assert.Equal(coreBuiltAgainst, assemblies[0].Assembly);
    }

    /// <summary>Recon.Functions/bin/{Release|Debug}/net10.0, found from the repository root (the folder with Recon.sln).</summary>
    private static string FunctionsOutput()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Recon.sln")))
        {
            root = root.Parent;
        }
        Assert.NotNull(root);
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var output = Path.Combine(root.FullName, "Recon.Functions", "bin", configuration, "net10.0");
        Assert.True(File.Exists(Path.Combine(output, "Recon.Functions.dll")), $"{output} has no Recon.Functions.dll: build Recon.Functions first (./recon test builds the solution)");
        return output;
    }
}
