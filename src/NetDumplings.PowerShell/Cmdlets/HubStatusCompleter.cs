using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Net.Http.Headers;
using System.Security;
using NetDumplings.Client;
using NetDumplings.Hub;
using NetDumplings.PowerShell.Jobs;
using NetDumplings.Protocol;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>
/// Completes Receive-Dumpling's -Kitchen and -Chef from the hub's status: the hub at the -Hub
/// already typed, else this session's first running hub job, else the default address. It reads
/// the hub's <c>/status.json</c> from the out-port over plain HTTP(S) with a short timeout, so a
/// missing, slow or foreign hub offers nothing instead of holding the prompt.
/// </summary>
public sealed class HubStatusCompleter : IArgumentCompleter
{
    /// <summary>The longest completion waits for the hub.</summary>
    internal static readonly TimeSpan Wait = TimeSpan.FromSeconds(1.5);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        var word = wordToComplete.Trim('\'', '"');
        var status = ReadStatus(HubText(fakeBoundParameters), fakeBoundParameters);
        if (status is null) return [];
        var kitchens = parameterName.Equals("Kitchen", StringComparison.OrdinalIgnoreCase);
        IEnumerable<(string Name, string Tip)> names = kitchens
            ? status.Kitchens.Where(k => !string.IsNullOrEmpty(k.Name))
                .Select(k => (k.Name!, $"kitchen '{k.Name}' on {k.Interface ?? "?"}: {string.Join(", ", k.Chefs)}"))
            : status.Kitchens.SelectMany(k => k.Chefs.Select(c => (Chef: c, Kitchen: k.Name)))
                .Where(c => !string.IsNullOrEmpty(c.Chef))
                .GroupBy(c => c.Chef, StringComparer.Ordinal)
                .Select(g => (g.Key, $"chef '{g.Key}' in {string.Join(", ", g.Select(c => c.Kitchen).Distinct())}"))
                .Append((HubStatusReport.ChefName, "the hub's own status dumplings"));
        return names.DistinctBy(n => n.Name)
            .Where(n => n.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .OrderBy(n => n.Name, StringComparer.OrdinalIgnoreCase)
            .Select(n => new CompletionResult(Quote(n.Name), n.Name, CompletionResultType.ParameterValue, n.Tip))
            .ToList();
    }

    private static string Quote(string name) =>
        name.Any(c => char.IsWhiteSpace(c) || "'\"`$;,(){}[]|&<>@#*?".Contains(c)) ? $"'{name.Replace("'", "''")}'" : name;

    /// <summary>The -Hub typed so far, else the first running hub job's out-port, else the default.</summary>
    private static string HubText(System.Collections.IDictionary bound)
    {
        if (bound["Hub"] is { } typed && typed.ToString() is { Length: > 0 } text) return text;
        try
        {
            if (Runspace.DefaultRunspace is not null)
            {
                using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
                foreach (var job in ps.AddCommand("Get-Job").Invoke<Job>())
                    if (job is DumplingHubJob { Info: { } info } && job.JobStateInfo.State == JobState.Running)
                        return info.EaterHub;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or PSInvalidOperationException)
        {
            // Completion inside a pipeline that cannot run nested commands: use the default.
        }
        return $"{HubAddress.DefaultHost}:{HubAddress.DefaultOutPort}";
    }

    /// <summary>The hub's status from its out-port's /status.json, or null (unreachable, slow, not a hub, refused).</summary>
    internal static HubStatusReport? ReadStatus(string hubText, System.Collections.IDictionary bound)
    {
        if (!HubAddress.TryParse(hubText, HubAddress.DefaultOutPort, out var address, out _) || address is null) return null;
        var skipCheck = bound["SkipCertificateCheck"] is SwitchParameter { IsPresent: true } or true;
        try
        {
            using var handler = new HttpClientHandler();
            if (skipCheck) handler.ServerCertificateCustomValidationCallback = (_, _, _, _) => true;
            using var http = new HttpClient(handler) { Timeout = Wait };
            var uri = new Uri($"{(address.Tls ? "https" : "http")}://{address.Authority}/status.json");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (TokenText(bound["Token"]) is { Length: > 0 } token)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            else if (address.Path.IndexOf('?') is var query and >= 0)
                request.RequestUri = new Uri(uri + address.Path[query..]); // a ?token=... given in -Hub
            using var cancel = new CancellationTokenSource(Wait);
            using var response = http.SendAsync(request, cancel.Token).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode) return null;
            var bytes = response.Content.ReadAsByteArrayAsync(cancel.Token).GetAwaiter().GetResult();
            if (!DumplingCodec.TryParse(bytes, out var dumpling, out _) || dumpling is null || !HubStatusReport.IsStatus(dumpling)) return null;
            return HubStatusReport.From(dumpling);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException
                                      or DumplingFormatException or UriFormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string? TokenText(object? token) => token switch
    {
        string s => s,
        SecureString secure => new System.Net.NetworkCredential(string.Empty, secure).Password,
        PSObject { BaseObject: var inner } => TokenText(inner),
        _ => null,
    };
}
