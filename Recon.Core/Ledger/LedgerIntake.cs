using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Recon.Core.Domain;
using Recon.Core.Hosting;
using Recon.Core.Queues;

namespace Recon.Core.Ledger;

/// <summary>A <c>recon-ledger</c> message as a host received it (plain text: a JSON array or NDJSON of entries).</summary>
public sealed record LedgerMessage(string MessageId, string Body, long DequeueCount);

/// <summary>What became of a ledger message: imported, or poisoned with the reason.</summary>
public sealed record LedgerOutcome(LedgerImportSummary? Summary, string? PoisonReason);

/// <summary>
/// The ledger intake of both hosts: <c>POST /api/ledger-entries</c> and the <c>recon-ledger</c> queue. Parses (a JSON array
/// or NDJSON), refuses the whole body on the first bad row naming where, which field and why, and imports through
/// <see cref="LedgerStore"/>; answers with the same status codes and bodies on either host.
/// </summary>
/// <remarks>A message that cannot be read or holds a bad row goes to <c>recon-ledger-poison</c> at once with its reason
/// (retrying cannot fix it); one whose import keeps failing (the database down) is thrown back for another delivery and
/// poisoned with the last error on its <see cref="PriorityQueueOptions.MaxDequeueCount"/>th.</remarks>
public sealed class LedgerIntake(LedgerStore store, QueueServiceClient queues, PriorityQueueOptions options, ILogger<LedgerIntake> logger)
{
    /// <summary>Largest request body: 16 MiB holds about 80,000 entries of ~200 bytes, a busy day's postings; a bigger
    /// load is a file for <c>recon ledger import</c>. Below Kestrel's default request limit (28.6 MiB), so Recon.Worker
    /// answers 413 with this reason instead of Kestrel closing the connection.</summary>
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>200 with the import summary; 400 with the first bad row ("entry N, field 'x': reason"); 413 over
    /// <see cref="MaxBodyBytes"/>.</summary>
    public async Task<HostReply> ImportAsync(Stream body, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var text = await ReadBoundedAsync(body, cancellationToken).ConfigureAwait(false);
        if (text is null)
        {
            return new HostReply(HttpStatusCode.RequestEntityTooLarge, new { errors = new[] { $"body: larger than {MaxBodyBytes} bytes; import a file with recon ledger import" } });
        }
        List<LedgerEntry> entries;
        try
        {
            entries = LedgerRows.ReadJson(text, "body");
        }
        catch (LedgerRowException ex)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors = new[] { $"body: {ex.Detail}" } });
        }
        var summary = await store.ImportAsync(entries, "api", actor, cancellationToken).ConfigureAwait(false);
        return new HostReply(HttpStatusCode.OK, summary);
    }

    /// <summary>Handles one <c>recon-ledger</c> message; on return the host deletes it. Throws when the import failed for
    /// a reason other than the message and deliveries remain, so the message comes back.</summary>
    public async Task<LedgerOutcome> FromQueueAsync(LedgerMessage message, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        string reason;
        try
        {
            var entries = LedgerRows.ReadJson(message.Body, "message");
            try
            {
                var summary = await store.ImportAsync(entries, $"queue:{message.MessageId}", actor, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("{Queue} message {Id}: {Summary}", options.Ledger, message.MessageId, summary);
                return new LedgerOutcome(summary, null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && message.DequeueCount >= options.MaxDequeueCount)
            {
                reason = $"import failed on delivery {message.DequeueCount} of {options.MaxDequeueCount}: {ex.GetType().Name}: {ex.Message}";
            }
        }
        catch (LedgerRowException ex)
        {
            reason = $"invalid ledger entries: {ex.Detail}";
        }
        logger.LogWarning("{Queue} message {Id} to poison: {Reason}", options.Ledger, message.MessageId, reason);
        var poison = queues.GetQueueClient(QueueNames.Poison(options.Ledger));
        // the original text is kept whole only when the poison message stays under the storage limit (64 KiB)
        var kept = message.Body.Length <= MaxPoisonEchoChars ? message.Body : message.Body[..MaxPoisonEchoChars] + "…";
        var text = JsonSerializer.Serialize(new { reason, queue = options.Ledger, messageId = message.MessageId, message = kept }, Json);
        try
        {
            await poison.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // bicep creates it in Azure; a local or test queue name may not have one yet
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await poison.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
        }
        return new LedgerOutcome(null, reason);
    }

    /// <summary>Characters of a poisoned message's text kept in the poison message: with the reason and JSON escaping it
    /// stays under the 64 KiB storage limit.</summary>
    private const int MaxPoisonEchoChars = 40 * 1024;

    private static async Task<string?> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
