"""SafeTwin live bridge: MQTT in and out (paho-mqtt 2), topic schema, payload validation,
broker management, plant simulator, recorder/replayer. See docs/mqtt-topics.md."""
