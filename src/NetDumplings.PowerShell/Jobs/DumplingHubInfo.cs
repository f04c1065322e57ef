using NetDumplings.Protocol;
using NetDumplings.Hub;

namespace NetDumplings.PowerShell.Jobs;

/// <summary>Where a started hub listens: what kitchens and eaters pass to -Hub.</summary>
public sealed class DumplingHubInfo
{
    internal DumplingHubInfo(DumplingHub hub)
    {
        InPort = hub.InEndPoint.Port;
        OutPort = hub.OutEndPoint.Port;
        Address = hub.InEndPoint.Address.ToString();
        var host = hub.InEndPoint.Address.Equals(System.Net.IPAddress.Any) ? "127.0.0.1"
            : hub.InEndPoint.Address.Equals(System.Net.IPAddress.IPv6Any) ? "::1" : Address;
        var tls = hub.Options.Certificate is not null;
        KitchenHub = new HubAddress(host, InPort, Tls: tls).ToString();
        EaterHub = new HubAddress(host, OutPort, Tls: tls).ToString();
        Dashboard = hub.DashboardUri.ToString();
    }

    /// <summary>The address the hub listens on.</summary>
    public string Address { get; }

    /// <summary>The kitchens' port.</summary>
    public int InPort { get; }

    /// <summary>The eaters' port.</summary>
    public int OutPort { get; }

    /// <summary>What a kitchen or Send-Dumpling passes to -Hub (host:in-port; wss://host:in-port over TLS).</summary>
    public string KitchenHub { get; }

    /// <summary>What Receive-Dumpling or Get-DumplingHubStatus passes to -Hub (host:out-port; wss://host:out-port over TLS).</summary>
    public string EaterHub { get; }

    /// <summary>The dashboard a browser opens: the out-port over http (https with TLS); add ?token= and the eater token when the hub has one.</summary>
    public string Dashboard { get; }

    public override string ToString() => $"kitchens -> {KitchenHub}, eaters -> {EaterHub}, dashboard -> {Dashboard}";
}
