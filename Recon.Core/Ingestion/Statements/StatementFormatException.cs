namespace Recon.Core.Ingestion.Statements;

/// <summary>
/// A bank file that cannot be ingested, with where (physical line, XML element path, field) and why.
/// </summary>
/// <remarks>
/// Thrown before any statement is returned, so a caller never holds half a file: either the whole file parsed
/// or nothing did.
/// </remarks>
public sealed class StatementFormatException : FormatException
{
    public StatementFormatException(string reason, int? line = null, string? element = null, string? field = null, Exception? inner = null)
        : base(Describe(reason, line, element, field), inner)
    {
        Reason = reason;
        Line = line;
        Element = element;
        Field = field;
    }

    /// <summary>1-based physical line in the file, when known.</summary>
    public int? Line { get; }

    /// <summary>camt.053: path of the offending element, e.g. <c>Stmt[1]/Ntry[3]/Amt</c>.</summary>
    public string? Element { get; }

    /// <summary>The field in error, e.g. <c>amount</c> or <c>49 control total</c>.</summary>
    public string? Field { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; }

    private static string Describe(string reason, int? line, string? element, string? field)
    {
        var where = new List<string>(3);
        if (line is { } l)
        {
            where.Add($"line {l}");
        }
        if (element is not null)
        {
            where.Add($"element {element}");
        }
        if (field is not null)
        {
            where.Add($"field '{field}'");
        }
        return where.Count == 0 ? reason : $"{string.Join(", ", where)}: {reason}";
    }
}
