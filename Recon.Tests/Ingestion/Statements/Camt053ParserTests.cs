using Recon.Core.Domain;
using Recon.Core.Ingestion.Camt053;
using Recon.Core.Ingestion.Statements;
using Xunit;

namespace Recon.Tests.Ingestion.Statements;

public sealed class Camt053ParserTests
{
    private const string Valid = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
          <BkToCstmrStmt>
            <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-05T08:00:00</CreDtTm></GrpHdr>
            <Stmt>
              <Id>S1</Id>
              <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
              <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-01-04</Dt></Dt></Bal>
              <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">50.5</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-04</Dt></Dt></Bal>
              <Ntry>
                <Amt Ccy="EUR">150.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
                <BookgDt><Dt>2024-01-04</Dt></BookgDt><ValDt><DtTm>2024-01-03T23:30:00-05:00</DtTm></ValDt>
                <AcctSvcrRef>BATCH1</AcctSvcrRef>
                <NtryDtls>
                  <Btch><NbOfTxs>2</NbOfTxs></Btch>
                  <TxDtls><Refs><EndToEndId>E2E-A</EndToEndId></Refs><Amt Ccy="EUR">100.00</Amt>
                    <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
                  <TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><Amt Ccy="EUR">50.50</Amt>
                    <RmtInf><Ustrd>INVOICE 7</Ustrd><Ustrd>AND 8</Ustrd></RmtInf></TxDtls>
                </NtryDtls>
              </Ntry>
              <Ntry>
                <Amt Ccy="EUR">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts>
                <BookgDt><Dt>2024-01-04</Dt></BookgDt>
                <AcctSvcrRef>R1</AcctSvcrRef>
                <AddtlNtryInf>RETURNED DIRECT DEBIT</AddtlNtryInf>
              </Ntry>
            </Stmt>
          </BkToCstmrStmt>
        </Document>
        """;

    [Fact]
    public void Parse_BatchEntryWithDetailAmounts_SplitsPerTxDtlsUnderOneGroup()
    {
        var statement = Assert.Single(Camt053Parser.Parse(Valid).Statements);

        Assert.Equal((-10000L, 5050L), (statement.OpeningMinor!.Value, statement.ClosingMinor!.Value));
        var (a, b) = (statement.Transactions[0], statement.Transactions[1]);
        Assert.Equal((10000L, 5050L), (a.AmountMinor, b.AmountMinor));
        Assert.Equal(a.GroupId, b.GroupId);
        Assert.Equal("DE89370400440532013000/BATCH1/1", a.ProviderTxId);
        Assert.Equal(("E2E-A", (string?)null), (a.EndToEndId, b.EndToEndId));
        Assert.Equal(("RF18539007547034", "INVOICE 7 AND 8"), (a.Remittance, b.Remittance));
        Assert.Equal(new DateOnly(2024, 1, 3), a.ValueDate); // the date as written, not shifted to UTC
        Assert.Equal(Providers.BankB, a.Provider);
    }

    [Fact]
    public void Parse_ReversalWithoutValueDate_IsSignedByIndicatorAndValuedOnBookingDate()
    {
        var reversal = Camt053Parser.Parse(Valid).Statements[0].Transactions[2];

        Assert.Equal(-2000, reversal.AmountMinor);
        Assert.Equal(new DateOnly(2024, 1, 4), reversal.ValueDate);
        Assert.Equal("DE89370400440532013000/R1/rvsl", reversal.ProviderTxId);
        Assert.Equal("RETURNED DIRECT DEBIT", reversal.Remittance);
    }

    [Fact]
    public void Parse_DetailAmountsNotAddingUp_KeepsEntryWhole()
    {
        var file = Camt053Parser.Parse(Valid.Replace("<Amt Ccy=\"EUR\">50.50</Amt>", "<Amt Ccy=\"EUR\">50.49</Amt>", StringComparison.Ordinal));

        var entry = file.Statements[0].Transactions[0];
        Assert.Equal(15050, entry.AmountMinor);
        Assert.Equal("E2E-A", entry.EndToEndId);
        Assert.Equal(2, file.Statements[0].Transactions.Count);
    }

    [Fact]
    public void Parse_BadXml_ThrowsWithLine()
    {
        var ex = Assert.Throws<StatementFormatException>(() => Camt053Parser.Parse(Valid.Replace("</Ntry>\n      <Ntry>", "</Ntry>\n      <Ntry", StringComparison.Ordinal)));

        Assert.NotNull(ex.Line);
        Assert.Contains("not well-formed XML", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<Amt Ccy=\"EUR\">20.00</Amt>", "<Amt Ccy=\"EUR\">20.001</Amt>", "Stmt[1]/Ntry[2]/Amt", "decimal places")]
    [InlineData("<Amt Ccy=\"EUR\">20.00</Amt>", "<Amt Ccy=\"EUR\">-20.00</Amt>", "Stmt[1]/Ntry[2]/Amt", "not an unsigned decimal")]
    [InlineData("<Amt Ccy=\"EUR\">20.00</Amt>", "<Amt>20.00</Amt>", "Stmt[1]/Ntry[2]/Amt", "Ccy")]
    [InlineData("<CdtDbtInd>DBIT</CdtDbtInd><RvslInd>", "<CdtDbtInd>DEBIT</CdtDbtInd><RvslInd>", "Stmt[1]/Ntry[2]/CdtDbtInd", "not CRDT or DBIT")]
    [InlineData("<BookgDt><Dt>2024-01-04</Dt></BookgDt>\n        <AcctSvcrRef>R1", "<AcctSvcrRef>R1", "Stmt[1]/Ntry[2]", "neither ValDt nor BookgDt")]
    [InlineData("<IBAN>DE89370400440532013000</IBAN>", "", "Stmt[1]/Acct/Id", "neither IBAN")]
    public void Parse_BadElement_ThrowsNamingElementAndLine(string from, string to, string element, string reason)
    {
        var text = Valid.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Valid, text);

        var ex = Assert.Throws<StatementFormatException>(() => Camt053Parser.Parse(text));

        Assert.Equal(element, ex.Element);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Line);
    }

    [Fact]
    public void Parse_OtherIso20022Message_ThrowsNamingNamespace()
    {
        var ex = Assert.Throws<StatementFormatException>(() => Camt053Parser.Parse(Valid.Replace("camt.053.001.08", "camt.052.001.08", StringComparison.Ordinal)));

        Assert.Contains("camt.052", ex.Reason, StringComparison.Ordinal);
        Assert.Equal("Document", ex.Element);
    }

    [Fact]
    public void Parse_DtdInFile_IsRefused()
    {
        var text = Valid.Replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY x \"y\">]>", StringComparison.Ordinal);

        Assert.Throws<StatementFormatException>(() => Camt053Parser.Parse(text));
    }
}
