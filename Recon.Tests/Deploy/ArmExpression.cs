using System.Text;

namespace Recon.Tests.Deploy;

/// <summary>
/// Just enough of ARM's expression language to read a snapshot's unevaluated values: <c>[format('...', a, b)]</c>
/// becomes its template with the literal arguments filled in and every other argument shown as «expression», so a
/// check can read "Host=«reference(...).fullyQualifiedDomainName»;Port=6432;..." as the setting it will be.
/// </summary>
public static class ArmExpression
{
    /// <summary>The value as the deployment will see it, with what only Azure knows left as «expression».</summary>
    public static string Render(string value)
    {
        if (!value.StartsWith('[') || !value.EndsWith(']') || value.StartsWith("[[", StringComparison.Ordinal))
        {
            return value;
        }
        var body = value[1..^1].Trim();
        if (!body.StartsWith("format(", StringComparison.Ordinal) || !body.EndsWith(')'))
        {
            return $"«{body}»";
        }
        var args = SplitArguments(body["format(".Length..^1]);
        if (args.Count == 0 || Literal(args[0]) is not { } template)
        {
            return $"«{body}»";
        }
        var rendered = new StringBuilder(template);
        for (var i = args.Count - 1; i >= 1; i--)
        {
            var arg = args[i];
            rendered.Replace($"{{{i - 1}}}", Literal(arg) ?? (long.TryParse(arg, out _) ? arg : $"«{arg}»"));
        }
        return rendered.ToString();
    }

    /// <summary>True when the value is (or contains) <c>reference('&lt;resourceId&gt;', ...).&lt;property&gt;</c>.</summary>
    public static bool RefersTo(string value, string resourceId, string property)
    {
        var at = value.IndexOf($"reference('{resourceId}'", StringComparison.OrdinalIgnoreCase);
        return at >= 0 && value.IndexOf($").{property}", at, StringComparison.Ordinal) > at;
    }

    private static string? Literal(string arg)
        => arg.Length >= 2 && arg[0] == '\'' && arg[^1] == '\'' ? arg[1..^1].Replace("''", "'", StringComparison.Ordinal) : null;

    /// <summary>Top-level comma-separated arguments, respecting quotes ('' escapes a quote) and nested parentheses.</summary>
    private static List<string> SplitArguments(string text)
    {
        var args = new List<string>();
        var depth = 0;
        var quoted = false;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '\'' && i + 1 < text.Length && text[i + 1] == '\'')
                {
                    i++;
                }
                else if (c == '\'')
                {
                    quoted = false;
                }
            }
            else if (c == '\'')
            {
                quoted = true;
            }
            else if (c is '(' or '[')
            {
                depth++;
            }
            else if (c is ')' or ']')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                args.Add(text[start..i].Trim());
                start = i + 1;
            }
        }
        args.Add(text[start..].Trim());
        return args;
    }
}
