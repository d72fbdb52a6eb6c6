from destination_salesforce.run import run

if __name__ == "__main__":
    run()
