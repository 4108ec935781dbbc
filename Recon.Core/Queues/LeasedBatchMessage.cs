using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Queues;

namespace Recon.Core.Queues;

/// <summary>
/// A batch message taken from a queue and invisible to others until its lease ends. Exactly one of
/// <see cref="CompleteAsync"/> (done), <see cref="AbandonAsync"/> (try again later) or <see cref="PoisonAsync"/>
/// (give up, with the reason) settles it; if none does, it reappears when the lease ends.
/// </summary>
public sealed class LeasedBatchMessage
{
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private string _popReceipt;
    private bool _settled;

    internal LeasedBatchMessage(QueueClient queue, QueueClient poison, bool isHigh, string messageId, string popReceipt, long dequeueCount, BatchMessage message, string? lastError)
    {
        _queue = queue;
        _poison = poison;
        IsHigh = isHigh;
        MessageId = messageId;
        _popReceipt = popReceipt;
        DequeueCount = dequeueCount;
        Message = message;
        LastError = lastError;
    }

    public BatchMessage Message { get; }

    /// <summary>Taken from the high queue.</summary>
    public bool IsHigh { get; }

    public string QueueName => _queue.Name;

    public string MessageId { get; }

    /// <summary>How often the batch has been handed out, this time included.</summary>
    public long DequeueCount { get; }

    /// <summary>Why the previous attempt failed, if one did.</summary>
    public string? LastError { get; }

    /// <summary>Acknowledges the message: call only after the batch is done. Fails with a clear error if the lease
    /// already ended (the message may then be delivered again; the batch id keeps that harmless).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        try
        {
            await _queue.DeleteMessageAsync(MessageId, _popReceipt, cancellationToken).ConfigureAwait(false);
            _settled = true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw LeaseLost(ex);
        }
    }

    /// <summary>Returns the message to its queue after <paramref name="retryAfter"/> (zero: at once), remembering
    /// <paramref name="reason"/> so the poison queue can say why if it keeps failing.</summary>
    public async Task AbandonAsync(string reason, TimeSpan retryAfter = default, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        EnsureOpen();
        try
        {
            var receipt = await _queue.UpdateMessageAsync(MessageId, _popReceipt, BatchMessageCodec.Encode(Message, reason),
                retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter, cancellationToken).ConfigureAwait(false);
            _popReceipt = receipt.Value.PopReceipt;
            _settled = true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw LeaseLost(ex);
        }
    }

    /// <summary>Moves the message to the poison queue with <paramref name="reason"/>, then removes it from its queue.</summary>
    public async Task PoisonAsync(string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        EnsureOpen();
        await PoisonMessageAsync(_queue, _poison, MessageId, _popReceipt, DequeueCount, BatchMessageCodec.Encode(Message, LastError), reason, cancellationToken).ConfigureAwait(false);
        _settled = true;
    }

    /// <summary>
    /// Writes the poison record first and deletes the original second: a crash in between leaves a duplicate in the
    /// poison queue, never a lost message.
    /// </summary>
    internal static async Task PoisonMessageAsync(
        QueueClient queue, QueueClient poison, string messageId, string popReceipt, long dequeueCount, string body, string reason, CancellationToken cancellationToken)
    {
        await poison.SendMessageAsync(PoisonRecordText(queue, messageId, dequeueCount, body, reason), cancellationToken).ConfigureAwait(false);
        try
        {
            await queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // the lease ended first: the message comes back and will be poisoned again; the record above is kept
        }
    }

    internal static string PoisonRecordText(QueueClient queue, string messageId, long dequeueCount, string body, string reason)
        => JsonSerializer.Serialize(new PoisonRecord(reason, queue.Name, messageId, dequeueCount, DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), body));

    private void EnsureOpen()
    {
        if (_settled)
        {
            throw new InvalidOperationException($"Message {MessageId} (batch {Message.BatchId}) was already completed, abandoned or poisoned.");
        }
    }

    private InvalidOperationException LeaseLost(RequestFailedException ex)
        => new($"The lease on message {MessageId} (batch {Message.BatchId}) in {QueueName} ended before it was settled; " +
               "it may be delivered again. Use a longer visibility timeout than a batch takes.", ex);
}

/// <summary>What the poison queue holds: the reason first, then where the message came from and its original text.</summary>
public sealed record PoisonRecord(
    [property: System.Text.Json.Serialization.JsonPropertyName("reason")] string Reason,
    [property: System.Text.Json.Serialization.JsonPropertyName("queue")] string Queue,
    [property: System.Text.Json.Serialization.JsonPropertyName("messageId")] string MessageId,
    [property: System.Text.Json.Serialization.JsonPropertyName("dequeueCount")] long DequeueCount,
    [property: System.Text.Json.Serialization.JsonPropertyName("poisonedAt")] string PoisonedAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("body")] string Body);
