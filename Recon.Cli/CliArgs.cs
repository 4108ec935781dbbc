namespace Recon.Cli;

/// <summary>Reads <c>--name value</c> options, refusing anything it was not told about.</summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public CliArgs(string[] args, string usage, params string[] known)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (!known.Contains(name))
            {
                throw new UsageException($"unexpected argument '{name}'. usage: {usage}");
            }
            if (i + 1 >= args.Length)
            {
                throw new UsageException($"{name} needs a value. usage: {usage}");
            }
            _values[name] = args[++i];
        }
        Usage = usage;
    }

    public string Usage { get; }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => Get(name) ?? throw new UsageException($"{name} is required. usage: {Usage}");

    public int Int(string name, int fallback, int min, int max)
    {
        var v = Get(name);
        if (v is null)
        {
            return fallback;
        }
        return int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new UsageException($"{name}: '{v}' is not a whole number in {min}..{max}");
    }
}
