using System.Text.Json;

namespace Recon.Tests.Deploy;

/// <summary>
/// A private copy of the repository's <c>bicep/</c> folder (builds and snapshots write next to their inputs, and the
/// tamper tests edit files), with the compiled template and the deployment snapshots computed once and cached.
/// </summary>
public sealed class BicepWorkspace : IDisposable
{
    private readonly Dictionary<string, DeploymentSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public BicepWorkspace()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"recon-bicep-{Guid.NewGuid():N}");
        CopyDirectory(BicepFolder ?? System.IO.Path.Combine(RepositoryRoot, "bicep"), Directory);
    }

    /// <summary>A copy of another bicep/ folder (the host contract test can read an older checkout's); a factory, because
    /// xunit builds class fixtures through their one public constructor.</summary>
    public static BicepWorkspace Of(string bicepFolder)
    {
        BicepFolder = bicepFolder;
        try
        {
            return new BicepWorkspace();
        }
        finally
        {
            BicepFolder = null;
        }
    }

    [ThreadStatic]
    private static string? BicepFolder;

    public static string RepositoryRoot { get; } = FindRoot();

    public string Directory { get; }

    public string PathOf(string relative) => System.IO.Path.Combine(Directory, relative);

    /// <summary>Replaces text in one copied file; throws when the text is not there, so a tamper test cannot go stale silently.</summary>
    public void Replace(string relative, string oldText, string newText)
    {
        var file = PathOf(relative);
        var text = File.ReadAllText(file);
        if (!text.Contains(oldText, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{oldText}' is not in {relative}: update the tamper test");
        }
        File.WriteAllText(file, text.Replace(oldText, newText, StringComparison.Ordinal));
    }

    /// <summary>
    /// `bicep snapshot` of a parameters file: the resources the deployment would create, with every expression that
    /// does not need a live Azure evaluated (names, parameters, variables, loops, conditions).
    /// </summary>
    public DeploymentSnapshot Snapshot(string paramFile)
    {
        lock (_gate)
        {
            if (_snapshots.TryGetValue(paramFile, out var cached))
            {
                return cached;
            }
            var result = BicepCli.Run(Directory, "snapshot", paramFile, "--mode", "overwrite",
                "--subscription-id", "00000000-0000-0000-0000-0000000000a1", "--tenant-id", "00000000-0000-0000-0000-0000000000b2",
                "--location", "eastus2");
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"bicep snapshot {paramFile} failed ({result.ExitCode}):\n{result.Output}");
            }
            var file = PathOf(System.IO.Path.ChangeExtension(paramFile, ".snapshot.json"));
            var parameters = BuildParams(paramFile);
            var snapshot = new DeploymentSnapshot(paramFile, JsonDocument.Parse(File.ReadAllText(file)), parameters);
            _snapshots[paramFile] = snapshot;
            return snapshot;
        }
    }

    /// <summary>Parameter values in effect: the compiled template's defaults overlaid with the parameters file.</summary>
    private Dictionary<string, JsonElement> BuildParams(string paramFile)
    {
        var outFile = PathOf(paramFile + ".json");
        var result = BicepCli.Run(Directory, "build-params", paramFile, "--outfile", outFile);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"bicep build-params {paramFile} failed ({result.ExitCode}):\n{result.Output}");
        }
        var template = CompiledTemplate();
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in template.RootElement.GetProperty("parameters").EnumerateObject())
        {
            if (p.Value.TryGetProperty("defaultValue", out var d))
            {
                values[p.Name] = d.Clone();
            }
        }
        using var given = JsonDocument.Parse(File.ReadAllText(outFile));
        foreach (var p in given.RootElement.GetProperty("parameters").EnumerateObject())
        {
            if (p.Value.TryGetProperty("value", out var v))
            {
                values[p.Name] = v.Clone();
            }
        }
        return values;
    }

    private JsonDocument? _compiled;

    /// <summary>The compiled ARM template of main.bicep.</summary>
    public JsonDocument CompiledTemplate()
    {
        lock (_gate)
        {
            if (_compiled is null)
            {
                var outFile = PathOf("main.json");
                var result = BicepCli.Run(Directory, "build", "main.bicep", "--no-restore", "--outfile", outFile);
                if (result.ExitCode != 0)
                {
                    throw new InvalidOperationException($"bicep build main.bicep failed ({result.ExitCode}):\n{result.Output}");
                }
                _compiled = JsonDocument.Parse(File.ReadAllText(outFile));
            }
            return _compiled;
        }
    }

    public void Dispose()
    {
        _compiled?.Dispose();
        foreach (var s in _snapshots.Values)
        {
            s.Document.Dispose();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = System.IO.Path.Combine(to, System.IO.Path.GetRelativePath(from, file));
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Recon.sln")) && System.IO.Directory.Exists(System.IO.Path.Combine(dir.FullName, "bicep")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Recon.sln with a bicep/ folder above {AppContext.BaseDirectory}");
    }
}
