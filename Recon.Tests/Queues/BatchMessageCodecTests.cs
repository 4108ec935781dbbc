using Recon.Core.Queues;

namespace Recon.Tests.Queues;

public sealed class BatchMessageCodecTests
{
    internal static BatchMessage Sample(string id = "b-stripe-1", int priority = 0) => new(
        id, "stripe", "acct_1", new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 20), "txn_9", 100, priority, 5_000_000_00, "USD",
        new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero), "run-1", 2);

    [Fact]
    public void EncodeDecode_RoundTrips_WithVersionAndLastError()
    {
        var text = BatchMessageCodec.Encode(Sample(), "timeout");
        Assert.Contains("\"version\":1", text, StringComparison.Ordinal);
        Assert.Contains("\"valueMinor\":500000000", text, StringComparison.Ordinal);
        var (message, lastError) = BatchMessageCodec.Decode(text);
        Assert.Equal(Sample(), message);
        Assert.Equal("timeout", lastError);
    }

    [Fact]
    public void EncodeDecode_RestartedChain_KeepsChainCursorAndGeneration_AndAFirstGenerationMessageStaysAsItWas()
    {
        var restarted = Sample() with { ChainCursor = "cur_0", Generation = 2 };
        Assert.Equal(restarted, BatchMessageCodec.Decode(BatchMessageCodec.Encode(restarted)).Message);
        // generation 0 writes neither field: messages already on the queues and new ones read the same
        var plain = BatchMessageCodec.Encode(Sample());
        Assert.DoesNotContain("generation", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("chainCursor", plain, StringComparison.Ordinal);
        var negative = BatchMessageCodec.Encode(restarted).Replace("\"generation\":2", "\"generation\":-1", StringComparison.Ordinal);
        Assert.Contains("generation -1", Assert.Throws<MalformedBatchMessageException>(() => BatchMessageCodec.Decode(negative)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "invalid JSON")]
    [InlineData("null", "JSON is null")]
    [InlineData("{}", "version is missing")]
    [InlineData("{\"version\":2}", "version 2 is not supported")]
    [InlineData("{\"version\":1,\"provider\":\"stripe\"}", "batchId is missing")]
    public void Decode_Malformed_SaysWhat(string text, string reason)
    {
        var ex = Assert.Throws<MalformedBatchMessageException>(() => BatchMessageCodec.Decode(text));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_BadField_NamesIt()
    {
        var text = BatchMessageCodec.Encode(Sample()).Replace("\"pageSize\":100", "\"pageSize\":0", StringComparison.Ordinal);
        var ex = Assert.Throws<MalformedBatchMessageException>(() => BatchMessageCodec.Decode(text));
        Assert.Contains("pageSize 0", ex.Message, StringComparison.Ordinal);
        var money = BatchMessageCodec.Encode(Sample()).Replace("\"valueMinor\":500000000", "\"valueMinor\":5.5", StringComparison.Ordinal);
        Assert.Throws<MalformedBatchMessageException>(() => BatchMessageCodec.Decode(money));
    }

    [Fact]
    public void Encode_Invalid_Throws()
        => Assert.Throws<ArgumentException>(() => BatchMessageCodec.Encode(Sample() with { Currency = "usd" }));
}
