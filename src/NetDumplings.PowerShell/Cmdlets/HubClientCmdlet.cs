using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Language;
using NetDumplings.Client;
using NetDumplings.Protocol;

using NetDumplings.PowerShell.Jobs;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>Which side of a hub a cmdlet talks to.</summary>
public enum HubRole { Kitchen, Eater }

/// <summary>
/// Base for every cmdlet that talks to a hub: -Hub parsing and its errors, the hub client's errors
/// as ErrorRecords, and the client's events replayed on the pipeline thread, all in one place.
/// </summary>
public abstract class HubClientCmdlet : DumplingCmdlet
{
    private readonly ConcurrentQueue<HubClientEventArgs> _events = new();

    /// <summary>The port this cmdlet's role connects to.</summary>
    protected abstract HubRole Role { get; }

    protected int DefaultPort => Role == HubRole.Kitchen ? HubAddress.DefaultInPort : HubAddress.DefaultOutPort;

    private string PortName => Role == HubRole.Kitchen ? $"in-port (default {HubAddress.DefaultInPort})" : $"out-port (default {HubAddress.DefaultOutPort})";

    /// <summary>Parses -Hub for this role, or stops the cmdlet with an error that says what a hub address looks like.</summary>
    protected HubAddress ParseHub(string text)
    {
        if (!HubAddress.TryParse(text, DefaultPort, out var address, out var error))
            ThrowTerminatingError(new ArgumentException(error), "InvalidHubAddress", ErrorCategory.InvalidArgument, text,
                $"Give the hub's {PortName} as host:port (e.g. localhost:{DefaultPort}) or ws://host:port.");
        return address!;
    }

    /// <summary>The ErrorRecord for a hub client's failure: unreachable, refused (wrong port), lost.</summary>
    protected ErrorRecord HubErrorRecord(Exception e) => e switch
    {
        DumplingHubRefusedException refused => Errors.Record(refused, "HubRefused", ErrorCategory.PermissionDenied, refused.Address,
            $"Point -Hub at the hub's {PortName}."),
        DumplingHubUnreachableException unreachable => Errors.Record(unreachable, "HubUnreachable", ErrorCategory.ConnectionError, unreachable.Address,
            $"Check that a hub is running at {unreachable.Address} (start one with Start-DumplingHub) and that -Hub names its {PortName}."),
        DumplingHubConnectionLostException lost => Errors.Record(lost, "HubConnectionLost", ErrorCategory.ConnectionError, lost.Address,
            "Leave out -NoReconnect to have the cmdlet reconnect when the hub comes back."),
        _ => Errors.Record(e, "HubClientFailed", ErrorCategory.NotSpecified, null),
    };

    /// <summary>A handler to subscribe to a hub client's Event: it only queues, since events come on background threads.</summary>
    protected void QueueEvent(object? sender, HubClientEventArgs e) => _events.Enqueue(e);

    /// <summary>Writes the queued client events; call on the pipeline thread.</summary>
    protected void WriteQueuedEvents()
    {
        while (_events.TryDequeue(out var e)) WriteEvent(e);
    }

    /// <summary>How a client event reaches the user; cmdlets may say more.</summary>
    protected virtual void WriteEvent(HubClientEventArgs e)
    {
        switch (e.Kind)
        {
            case HubClientEventKind.Disconnected:
            case HubClientEventKind.DumplingsLost:
                WriteWarning(e.Message);
                break;
            case HubClientEventKind.MalformedMessage:
                WriteError(new DumplingFormatException(e.Message), "MalformedDumpling", ErrorCategory.InvalidData, e.RawMessage,
                    "The hub forwarded something that is not a dumpling; the kitchen that sent it needs fixing. The stream goes on.");
                break;
            default:
                WriteVerbose(e.Message);
                break;
        }
    }
}

/// <summary>
/// Completes -Hub with where this session's hub jobs listen (the port for the cmdlet's role) and the
/// default address.
/// </summary>
public sealed class HubAddressCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        var eater = commandName.Contains("Receive-", StringComparison.OrdinalIgnoreCase) || commandName.Contains("Status", StringComparison.OrdinalIgnoreCase);
        var candidates = new List<(string Address, string Tip)>();
        try
        {
            using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            foreach (var job in ps.AddCommand("Get-Job").Invoke<Job>())
                if (job is DumplingHubJob { Info: { } info } hubJob && hubJob.JobStateInfo.State == JobState.Running)
                    candidates.Add((eater ? info.EaterHub : info.KitchenHub, $"hub job '{hubJob.Name}': {info}"));
        }
        catch (Exception e) when (e is InvalidOperationException or PSInvalidOperationException)
        {
            // Completion inside a pipeline that cannot run nested commands: offer the default only.
        }
        var port = eater ? HubAddress.DefaultOutPort : HubAddress.DefaultInPort;
        candidates.Add(($"{HubAddress.DefaultHost}:{port}", $"the default hub's {(eater ? "out-port (eaters)" : "in-port (kitchens)")}"));
        foreach (var (address, tip) in candidates.DistinctBy(c => c.Address))
            if (address.StartsWith(wordToComplete.Trim('\'', '"'), StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(address, address, CompletionResultType.ParameterValue, tip);
    }
}
