"""Live data in: MQTT sensor streams, HTTP pushes and GTFS-Realtime feeds into the lake."""
