using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Recon.Core.Ingestion.Statements;
using Recon.Sandbox.Admin;

namespace Recon.Sandbox;

/// <summary>Client of the sandbox's <c>/admin</c> API: used by tests, the scenario loader and the spike benchmark.</summary>
public sealed class SandboxAdminClient(HttpClient http, string baseUrl, string adminKey)
{
    private static readonly JsonSerializerOptions Json = new(SandboxJson.Options) { Converters = { new JsonStringEnumConverter() } };

    private readonly string _baseUrl = baseUrl.TrimEnd('/');

    public Task LoadStripeAsync(string objectType, IEnumerable<JsonObject> objects, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"/admin/stripe/{objectType}", new JsonArray([.. objects.Select(o => (JsonNode)o.DeepClone())]).ToJsonString(), cancellationToken);

    public Task AppendPlaidEventsAsync(string accessToken, IEnumerable<PlaidEventDto> events, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"/admin/plaid/items/{Uri.EscapeDataString(accessToken)}/events", JsonSerializer.Serialize(events, Json), cancellationToken);

    public Task ArmPlaidFaultsAsync(string accessToken, PlaidFaultsDto faults, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"/admin/plaid/items/{Uri.EscapeDataString(accessToken)}/faults", JsonSerializer.Serialize(faults, Json), cancellationToken);

    public async Task<JsonArray> PlaidTransactionsAsync(string accessToken, CancellationToken cancellationToken = default)
        => JsonNode.Parse(await SendAsync(HttpMethod.Get, $"/admin/plaid/items/{Uri.EscapeDataString(accessToken)}/transactions", null, cancellationToken)) as JsonArray
           ?? throw new InvalidOperationException("the sandbox answered something other than an array");

    public Task LoadBankStatementsAsync(string bank, IEnumerable<BankStatement> statements, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, $"/admin/banks/{bank}/statements", JsonSerializer.Serialize(statements, Json), cancellationToken);

    public async Task<SandboxBehavior> SetBehaviorAsync(SandboxBehavior behavior, CancellationToken cancellationToken = default)
        => JsonSerializer.Deserialize<SandboxBehavior>(await SendAsync(HttpMethod.Put, "/admin/behavior", JsonSerializer.Serialize(behavior, Json), cancellationToken), Json)!;

    public async Task<CountersSnapshot> CountersAsync(CancellationToken cancellationToken = default)
        => JsonSerializer.Deserialize<CountersSnapshot>(await SendAsync(HttpMethod.Get, "/admin/counters", null, cancellationToken), Json)!;

    public Task ResetCountersAsync(CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "/admin/counters/reset", null, cancellationToken);

    /// <summary>Drops all data and counters.</summary>
    public Task ResetAsync(CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Post, "/admin/reset", null, cancellationToken);

    private async Task<string> SendAsync(HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, _baseUrl + path);
        request.Headers.Add(AdminEndpoints.KeyHeader, adminKey);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"sandbox admin {method} {path} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        }
        return text;
    }
}
