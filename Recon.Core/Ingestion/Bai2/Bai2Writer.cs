using System.Globalization;
using System.Text;
using Recon.Core.Ingestion.Statements;

namespace Recon.Core.Ingestion.Bai2;

/// <summary>
/// Writes statements as a BAI2 file that <see cref="Bai2Parser"/> reads back: one 02 group per statement (its
/// <see cref="BankStatement.StatementDate"/> is the as-of date), 010/015 balances, one 16 per transaction
/// (399 miscellaneous credit / 699 miscellaneous debit, funds type V when the value date differs), and correct
/// 49/98/99 control totals and record counts. For the bank sandbox, which serves files generated from scenarios.
/// </summary>
public static class Bai2Writer
{
    /// <param name="statements">Each needs a <see cref="BankStatement.StatementDate"/>; transactions in its currency.</param>
    /// <param name="createdAt">File creation time written in the 01 header (passed in: the writer never reads the clock).</param>
    /// <param name="fileId">File identification number (01 record), also the first part of the parsed statement ids.</param>
    /// <param name="sender">Sender identification (01) and originator (02).</param>
    /// <param name="receiver">Receiver identification (01) and ultimate receiver (02).</param>
    /// <param name="version">01 version number: 2 (BAI2) or 3 (BTRS, X9.121), which keeps the same layout for these records.</param>
    public static string Write(IEnumerable<BankStatement> statements, DateTime createdAt, string fileId = "1", string sender = "RECONBANK", string receiver = "RECON", int version = 2)
    {
        ArgumentNullException.ThrowIfNull(statements);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(version, 3);
        foreach (var (value, name) in new[] { (fileId, nameof(fileId)), (sender, nameof(sender)), (receiver, nameof(receiver)) })
        {
            CheckField(value, name);
        }
        var lines = new List<string> { $"01,{sender},{receiver},{createdAt:yyMMdd},{createdAt:HHmm},{fileId},,,{version}/" };
        long fileTotal = 0;
        var groups = 0;
        foreach (var statement in statements)
        {
            var asOf = statement.StatementDate ?? throw new ArgumentException($"statement of account {statement.Account} has no StatementDate (the BAI2 as-of date)", nameof(statements));
            CheckField(statement.Account, "account");
            var groupStart = lines.Count;
            lines.Add($"02,{receiver},{sender},1,{asOf:yyMMdd},,{statement.Currency},2/");
            var accountStart = lines.Count;
            long total = 0;
            var summary = new StringBuilder($"03,{statement.Account},{statement.Currency}");
            foreach (var (code, amount) in new[] { ("010", statement.OpeningMinor), ("015", statement.ClosingMinor) })
            {
                if (amount is { } a)
                {
                    summary.Append(CultureInfo.InvariantCulture, $",{code},{a},,");
                    total += a;
                }
            }
            lines.Add(summary.Append('/').ToString());
            foreach (var t in statement.Transactions)
            {
                if (t.Currency != statement.Currency)
                {
                    throw new ArgumentException($"transaction {t.ProviderTxId} is in {t.Currency}, its BAI2 account in {statement.Currency}", nameof(statements));
                }
                CheckField(t.BankReference ?? "", "bank reference");
                CheckField(t.EndToEndId ?? "", "customer reference");
                var text = t.Remittance ?? "";
                if (text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal) || text.Contains("/ ", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"remittance of {t.ProviderTxId} contains a line break or '/ ', which BAI2 cannot carry in a 16 text", nameof(statements));
                }
                var typeCode = t.AmountMinor >= 0 ? "399" : "699";
                var amount = Math.Abs(t.AmountMinor);
                var funds = t.ValueDate == asOf ? "" : $"V,{t.ValueDate:yyMMdd},"; // V: value date, then an empty value time
                // the trailing "/" ends the record; a text ending in "/" keeps it because the parser strips only one
                lines.Add($"16,{typeCode},{amount},{funds},{t.BankReference},{t.EndToEndId},{text}/");
                total += amount;
            }
            lines.Add($"49,{total},{lines.Count - accountStart + 1}/");
            lines.Add($"98,{total},1,{lines.Count - groupStart + 1}/");
            fileTotal += total;
            groups++;
        }
        lines.Add($"99,{fileTotal},{groups},{lines.Count + 1}/");
        return string.Join("\n", lines) + "\n";
    }

    private static void CheckField(string value, string name)
    {
        if (value.Contains(',', StringComparison.Ordinal) || value.Contains('/', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} '{value}' contains ',', '/' or a line break, which BAI2 fields cannot hold", name);
        }
    }
}
