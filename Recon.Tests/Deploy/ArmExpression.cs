using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Recon.Tests.Deploy;

/// <summary>
/// The one reader of ARM expressions in a `bicep snapshot`, which leaves what needs live resources unevaluated
/// (<c>[reference(id, api).clientId]</c>, <c>[format(...)]</c>). It evaluates the few ARM functions the template uses in
/// two ways: <see cref="Render"/> leaves what only Azure knows as «expression», so a check can read
/// "Host=«reference(...).fullyQualifiedDomainName»;Port=6432;..." as the setting it will be; <see cref="Resolve"/> puts
/// stand-ins shaped like the real values there (an identity's client id, an endpoint, a host name) and turns Key Vault
/// references, which the platform resolves before the app starts, into placeholders — the settings the app would see.
/// </summary>
public static partial class ArmExpression
{
    /// <summary>What a Key Vault reference becomes: a non-empty value that is visibly not a real secret.</summary>
    public static string SecretPlaceholder(string secretName) => $"kv-placeholder-{secretName}";

    public static Dictionary<string, string> Resolve(IReadOnlyDictionary<string, string> settings)
    {
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, raw) in settings)
        {
            var value = IsExpression(raw) ? Evaluate(raw[1..^1], symbolic: false) : raw;
            var kv = KeyVaultReference().Match(value);
            resolved[name] = kv.Success ? SecretPlaceholder(kv.Groups["secret"].Value) : value;
        }
        return resolved;
    }

    /// <summary>The value as the deployment will see it, with what only Azure knows left as «expression».</summary>
    public static string Render(string value) => IsExpression(value) ? Evaluate(value[1..^1], symbolic: true) : value;

    /// <summary>True when the value is (or contains) <c>reference('&lt;resourceId&gt;', ...).&lt;property&gt;</c>.</summary>
    public static bool RefersTo(string value, string resourceId, string property)
    {
        var at = value.IndexOf($"reference('{resourceId}'", StringComparison.OrdinalIgnoreCase);
        return at >= 0 && value.IndexOf($").{property}", at, StringComparison.Ordinal) > at;
    }

    private static bool IsExpression(string value)
        => value.StartsWith('[') && value.EndsWith(']') && !value.StartsWith("[[", StringComparison.Ordinal);

    /// <summary>Evaluates one ARM expression (without its brackets); <paramref name="symbolic"/> leaves what only Azure
    /// knows as «its text» instead of a stand-in.</summary>
    public static string Evaluate(string expression, bool symbolic = false)
    {
        var parser = new Parser(expression, symbolic);
        var value = parser.ParseExpression();
        parser.ExpectEnd();
        return value switch
        {
            string s => s,
            bool b => b ? "True" : "False",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => throw new InvalidOperationException($"expression '{expression}' is not a string"),
        };
    }

    /// <summary>Stand-ins for a resource property that only exists once Azure created the resource.</summary>
    private static object ReferenceProperty(string resourceId, IReadOnlyList<string> path)
    {
        var name = resourceId.Split('/')[^1];
        var property = string.Join('.', path);
        return property switch
        {
            "clientId" => StableGuid("client:" + name),
            "principalId" => StableGuid("principal:" + name),
            "tenantId" => "00000000-0000-0000-0000-0000000000b2",
            "primaryEndpoints.queue" => $"https://{name}.queue.core.windows.net/",
            "primaryEndpoints.blob" => $"https://{name}.blob.core.windows.net/",
            "primaryEndpoints.table" => $"https://{name}.table.core.windows.net/",
            "fullyQualifiedDomainName" => $"{name}.postgres.database.azure.com",
            "hostName" => $"{name}.eastus2.redis.azure.net",
            "ConnectionString" or "connectionString" => $"InstrumentationKey={StableGuid("ikey:" + name)};IngestionEndpoint=https://eastus2-0.in.applicationinsights.azure.com/",
            "vaultUri" => $"https://{name}.vault.azure.net/",
            "defaultHostName" => $"{name}.azurewebsites.net",
            "name" => name,
            _ => throw new InvalidOperationException($"no stand-in for reference('{resourceId}').{property}: add one to ArmExpression"),
        };
    }

    private static string StableGuid(string seed)
        => new Guid(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(seed))).ToString();

    private static object Call(string function, IReadOnlyList<object> args) => function.ToLowerInvariant() switch
    {
        "format" => string.Format(CultureInfo.InvariantCulture, (string)args[0], args.Skip(1).ToArray()),
        "concat" => string.Concat(args.Select(a => Convert.ToString(a, CultureInfo.InvariantCulture))),
        "string" => Convert.ToString(args[0], CultureInfo.InvariantCulture)!,
        "tolower" => ((string)args[0]).ToLowerInvariant(),
        "reference" => new Reference((string)args[0]),
        "mul" => Convert.ToInt64(args[0], CultureInfo.InvariantCulture) * Convert.ToInt64(args[1], CultureInfo.InvariantCulture),
        "if" => (bool)args[0] ? args[1] : args[2],
        "empty" => args[0] is string s ? s.Length == 0 : args[0] is null,
        "not" => !(bool)args[0],
        "equals" => Equals(args[0], args[1]),
        _ => throw new InvalidOperationException($"ARM function {function}() is not evaluated here: add it to ArmExpression"),
    };

    private sealed record Reference(string ResourceId);

    /// <summary>In <see cref="Render"/>: a value only Azure knows, kept as its expression text.</summary>
    private sealed record Symbol(string Text)
    {
        public override string ToString() => $"«{Text}»";
    }

    /// <summary>Functions evaluated even when rendering: they only combine their arguments.</summary>
    private static bool IsPure(string function, IReadOnlyList<object> args)
        => function.ToLowerInvariant() is "format" or "concat" or "string" or "tolower" or "mul" or "if" or "empty" or "not" or "equals"
           && !(function.Equals("if", StringComparison.OrdinalIgnoreCase) && args[0] is Symbol);

    private sealed class Parser(string text, bool symbolic)
    {
        private int _at;

        public object ParseExpression()
        {
            SkipSpace();
            var start = _at;
            object value;
            if (Peek() == '\'')
            {
                value = ParseString();
            }
            else if (char.IsDigit(Peek()) || Peek() == '-')
            {
                _at++;
                while (_at < text.Length && char.IsDigit(text[_at]))
                {
                    _at++;
                }
                value = long.Parse(text[start.._at], CultureInfo.InvariantCulture);
            }
            else
            {
                var name = ParseName();
                if (name is "true" or "false")
                {
                    value = name == "true";
                }
                else
                {
                    Expect('(');
                    var args = new List<object>();
                    SkipSpace();
                    if (Peek() != ')')
                    {
                        do
                        {
                            args.Add(ParseExpression());
                            SkipSpace();
                        }
                        while (TryTake(','));
                    }
                    Expect(')');
                    value = symbolic && !IsPure(name, args) ? new Symbol(text[start.._at]) : Call(name, args);
                }
            }
            // property access: reference(...).a.b, or on an object
            var path = new List<string>();
            while (TryTake('.'))
            {
                path.Add(ParseName());
            }
            if (path.Count > 0)
            {
                value = value switch
                {
                    Symbol => new Symbol(text[start.._at]),
                    Reference r => ReferenceProperty(r.ResourceId, path),
                    _ => throw new InvalidOperationException($"property access .{string.Join('.', path)} on a {value.GetType().Name}"),
                };
            }
            // at the top, or as an argument of a pure function, a symbol is shown as «its text»
            return value is Symbol symbol && _at >= text.TrimEnd().Length && start == 0 ? $"«{symbol.Text}»" : value;
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_at != text.Length)
            {
                throw new InvalidOperationException($"unexpected '{text[_at..]}' in ARM expression '{text}'");
            }
        }

        private string ParseString()
        {
            Expect('\'');
            var sb = new StringBuilder();
            while (true)
            {
                var c = text[_at++];
                if (c == '\'')
                {
                    if (_at < text.Length && text[_at] == '\'')
                    {
                        sb.Append('\'');
                        _at++;
                        continue;
                    }
                    return sb.ToString();
                }
                sb.Append(c);
            }
        }

        private string ParseName()
        {
            SkipSpace();
            var start = _at;
            while (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] == '_'))
            {
                _at++;
            }
            return _at > start ? text[start.._at] : throw new InvalidOperationException($"a name expected at {_at} in '{text}'");
        }

        private char Peek() => _at < text.Length ? text[_at] : '\0';

        private bool TryTake(char c)
        {
            SkipSpace();
            if (Peek() != c)
            {
                return false;
            }
            _at++;
            return true;
        }

        private void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw new InvalidOperationException($"'{c}' expected at {_at} in '{text}'");
            }
        }

        private void SkipSpace()
        {
            while (_at < text.Length && text[_at] == ' ')
            {
                _at++;
            }
        }
    }

    [GeneratedRegex(@"^@Microsoft\.KeyVault\(SecretUri=.*/secrets/(?<secret>[A-Za-z0-9-]+)/?\)$")]
    private static partial Regex KeyVaultReference();
}
