using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;

namespace Recon.Core.Ingestion.Camt053;

/// <summary>
/// Writes statements as a camt.053.001.02 document that <see cref="Camt053Parser"/> reads back: one <c>Stmt</c> per
/// statement with OPBD/CLBD balances, one booked <c>Ntry</c> per transaction with its <c>AcctSvcrRef</c>, one
/// <c>TxDtls</c> carrying <c>EndToEndId</c> and unstructured remittance. For the bank sandbox.
/// </summary>
public static class Camt053Writer
{
    public const string Namespace = Camt053Parser.NamespacePrefix + "02";

    /// <param name="statements">Each needs a <see cref="BankStatement.StatementDate"/> (the balances' date).</param>
    /// <param name="messageId">GrpHdr/MsgId.</param>
    /// <param name="createdAt">GrpHdr/CreDtTm (passed in: the writer never reads the clock).</param>
    public static string Write(IEnumerable<BankStatement> statements, string messageId, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(statements);
        XNamespace ns = Namespace;
        var created = createdAt.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);
        var message = new XElement(ns + "BkToCstmrStmt",
            new XElement(ns + "GrpHdr", new XElement(ns + "MsgId", messageId), new XElement(ns + "CreDtTm", created)));
        var n = 0;
        foreach (var statement in statements)
        {
            n++;
            var date = statement.StatementDate ?? throw new ArgumentException($"statement of account {statement.Account} has no StatementDate", nameof(statements));
            var stmt = new XElement(ns + "Stmt",
                new XElement(ns + "Id", statement.StatementId ?? $"{messageId}-{n}"),
                new XElement(ns + "CreDtTm", created),
                new XElement(ns + "Acct",
                    new XElement(ns + "Id", IsIban(statement.Account)
                        ? new XElement(ns + "IBAN", statement.Account)
                        : new XElement(ns + "Othr", new XElement(ns + "Id", statement.Account))),
                    new XElement(ns + "Ccy", statement.Currency)));
            foreach (var (code, amount) in new[] { ("OPBD", statement.OpeningMinor), ("CLBD", statement.ClosingMinor) })
            {
                if (amount is { } a)
                {
                    stmt.Add(new XElement(ns + "Bal",
                        new XElement(ns + "Tp", new XElement(ns + "CdOrPrtry", new XElement(ns + "Cd", code))),
                        Amount(ns, a, statement.Currency),
                        new XElement(ns + "CdtDbtInd", a < 0 ? "DBIT" : "CRDT"),
                        new XElement(ns + "Dt", new XElement(ns + "Dt", Iso(date)))));
                }
            }
            foreach (var t in statement.Transactions)
            {
                var details = new XElement(ns + "TxDtls",
                    new XElement(ns + "Refs", t.EndToEndId is null ? null : new XElement(ns + "EndToEndId", t.EndToEndId)),
                    t.Remittance is null ? null : new XElement(ns + "RmtInf", new XElement(ns + "Ustrd", t.Remittance)));
                stmt.Add(new XElement(ns + "Ntry",
                    Amount(ns, t.AmountMinor, t.Currency),
                    new XElement(ns + "CdtDbtInd", t.AmountMinor < 0 ? "DBIT" : "CRDT"),
                    new XElement(ns + "Sts", t.Status == ProviderTransactionStatus.Pending ? "PDNG" : "BOOK"),
                    t.BookingDate is { } booked ? new XElement(ns + "BookgDt", new XElement(ns + "Dt", Iso(booked))) : null,
                    new XElement(ns + "ValDt", new XElement(ns + "Dt", Iso(t.ValueDate))),
                    t.BankReference is null ? null : new XElement(ns + "AcctSvcrRef", t.BankReference),
                    new XElement(ns + "BkTxCd"),
                    new XElement(ns + "NtryDtls", details)));
            }
            message.Add(stmt);
        }
        var document = new XDocument(new XDeclaration("1.0", "UTF-8", null), new XElement(ns + "Document", message));
        using var writer = new Utf8StringWriter();
        using (var xml = XmlWriter.Create(writer, new XmlWriterSettings { Indent = true }))
        {
            document.Save(xml);
        }
        return writer.ToString();
    }

    private static XElement Amount(XNamespace ns, long minor, string currency)
        => new(ns + "Amt", new XAttribute("Ccy", currency), MinorUnits.FormatDecimal(Math.Abs(minor), currency));

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static bool IsIban(string account)
        => account.Length is >= 15 and <= 34 && char.IsAsciiLetterUpper(account[0]) && char.IsAsciiLetterUpper(account[1]) && account[2..].All(char.IsAsciiLetterOrDigit);

    private sealed class Utf8StringWriter : StringWriter
    {
        public Utf8StringWriter() : base(CultureInfo.InvariantCulture)
        {
        }

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
    }
}
