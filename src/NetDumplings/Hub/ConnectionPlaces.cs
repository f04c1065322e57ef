using System.Net;

namespace NetDumplings.Hub;

/// <summary>
/// The hub's connection limits: in all, per port (so eaters cannot use up the kitchens' places) and
/// per address (so one host cannot lock out the others). Every place taken is released once.
/// </summary>
internal sealed class ConnectionPlaces(DumplingHubOptions options)
{
    private readonly object _placesLock = new();
    private int _connections, _kitchenConnections, _eaterConnections;
    private readonly Dictionary<IPAddress, int> _connectionsByAddress = [];

    /// <summary>Takes a place for a new connection, or says which limit is reached (null: taken). Every place taken is released in <see cref="Release"/>.</summary>
    public string? TryTake(bool isKitchen, IPAddress address)
    {
        lock (_placesLock)
        {
            var byAddress = _connectionsByAddress.GetValueOrDefault(address);
            if (_connections >= options.MaxConnections)
                return $"{options.MaxConnections} connections on both ports together";
            if (isKitchen && _kitchenConnections >= options.MaxKitchenConnections)
                return $"{options.MaxKitchenConnections} kitchen connections on the in-port";
            if (!isKitchen && _eaterConnections >= options.MaxEaterConnections)
                return $"{options.MaxEaterConnections} eater connections on the out-port";
            if (byAddress >= options.MaxConnectionsPerAddress)
                return $"{options.MaxConnectionsPerAddress} connections from {address}";
            _connections++;
            if (isKitchen) _kitchenConnections++; else _eaterConnections++;
            _connectionsByAddress[address] = byAddress + 1;
            return null;
        }
    }

    public void Release(bool isKitchen, IPAddress address)
    {
        lock (_placesLock)
        {
            _connections--;
            if (isKitchen) _kitchenConnections--; else _eaterConnections--;
            if (_connectionsByAddress.TryGetValue(address, out var n) && n > 1) _connectionsByAddress[address] = n - 1;
            else _connectionsByAddress.Remove(address);
        }
    }
}
