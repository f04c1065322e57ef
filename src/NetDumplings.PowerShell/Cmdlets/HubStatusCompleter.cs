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
/// already typed, else the default hub and this session's running hub jobs (all at once). It reads
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
        // All asked at once, so completion waits at most one timeout however many hubs there are.
        var asking = HubTexts(fakeBoundParameters).Select(hub => Task.Run(() => ReadStatus(hub, fakeBoundParameters))).ToArray();
        Task.WaitAll(asking, Wait + TimeSpan.FromMilliseconds(250));
        var statuses = asking.Where(t => t.IsCompletedSuccessfully && t.Result is not null).Select(t => t.Result!).ToList();
        if (statuses.Count == 0) return [];
        var allKitchens = statuses.SelectMany(s => s.Kitchens).ToList();
        var kitchens = parameterName.Equals("Kitchen", StringComparison.OrdinalIgnoreCase);
        IEnumerable<(string Name, string Tip)> names = kitchens
            ? allKitchens.Where(k => !string.IsNullOrEmpty(k.Name))
                .Select(k => (k.Name!, $"kitchen '{k.Name}' on {k.Interface ?? "?"}: {string.Join(", ", k.Chefs)}"))
            : allKitchens.SelectMany(k => k.Chefs.Select(c => (Chef: c, Kitchen: k.Name)))
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

    /// <summary>The -Hub typed so far; else the default hub and this session's running hub jobs' out-ports.</summary>
    private static List<string> HubTexts(System.Collections.IDictionary bound)
    {
        if (bound["Hub"] is { } typed && typed.ToString() is { Length: > 0 } text) return [text];
        var hubs = new List<string> { $"{HubAddress.DefaultHost}:{HubAddress.DefaultOutPort}" };
        try
        {
            if (Runspace.DefaultRunspace is not null)
            {
                using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
                foreach (var job in ps.AddCommand("Get-Job").Invoke<Job>())
                    if (job is DumplingHubJob { Info: { } info } && job.JobStateInfo.State == JobState.Running && hubs.Count < 16)
                        hubs.Add(info.EaterHub);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or PSInvalidOperationException)
        {
            // Completion inside a pipeline that cannot run nested commands: the default hub only.
        }
        return hubs.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
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
        SecureString secure => NetDumplings.Protocol.SecureText.Of(secure),
        PSObject { BaseObject: var inner } => TokenText(inner),
        _ => null,
    };
}
